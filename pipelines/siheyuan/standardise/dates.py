"""Dates as departments write them, to a date with its precision — or a reason why not.

Every form the spec lists is read whatever the column declares (a department that declares
``YYYYMMDD`` still sends ``1985-03-02`` now and then): ``19850302``, ``1985-03-02``,
``1985/3/2``, ``1985.3.2``, ``1985年3月2日``, ISO with a time part (what a spreadsheet date cell
becomes), Excel serial day numbers (``31108``) where the source is a spreadsheet, and the
month-only ``198503`` / ``1985-03``, which keep ``precision = 'month'`` instead of inventing a
day (the value is the first of the month only so it can be stored as a DATE). A month form is
only read for years 1880-2100, so a six-digit ``YYMMDD`` (``850302``) is ``unparsed``.

A form that is recognised but names no real day (``19850230``) is ``impossible``; a real day
outside ``[not_before, not_after]`` is ``too_early`` or ``future``. Only ``valid`` values are
usable. The bounds are parameters because "future" depends on the record: in the warehouse a
date is compared with the extract date of the batch that delivered it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from siheyuan.standardise.text import strip_spaces

EARLIEST = date(1880, 1, 1)
# Years a month-only form may name. ``850302`` (YYMMDD) also fits YYYYMM as "8503-02": a year
# outside these bounds means the text is some other form, so it is ``unparsed``, not a date.
MONTH_FORM_YEARS = range(EARLIEST.year, 2101)
STATUSES = ("valid", "empty", "impossible", "too_early", "future", "unparsed")

# Excel's 1900 date system: serial 1 is 1900-01-01 and it counts a 29 February 1900 that never
# was (serial 60), so from serial 61 on the day is 1899-12-30 + serial.
_EXCEL_EPOCH = date(1899, 12, 30)
_TIME = r"(?:[T ]?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DAY_FORMS = (
    ("yyyymmdd", re.compile(r"(\d{4})(\d{2})(\d{2})")),
    ("separated", re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?" + _TIME)),
)
_MONTH_FORMS = (
    ("yyyymm", re.compile(r"(\d{4})(\d{2})")),
    ("separated_month", re.compile(r"(\d{4})[-/.年](\d{1,2})月?")),
)
# Five-digit serials only: a four-digit number is far more often a year than a day in 1900-1927.
_SERIAL = re.compile(r"(\d{5})(?:\.0*)?")


@dataclass(frozen=True)
class DateCheck:
    """One delivered date text, read."""

    raw: str | None
    value: date | None  # the day; for month precision the first of the month
    precision: str | None  # 'day' | 'month' | None
    status: str  # one of STATUSES
    form: str | None  # which written form matched

    @property
    def usable(self) -> bool:
        return self.status == "valid"


def _excel_serial(serial: int) -> date | None:
    if serial < 61:  # before 1900-03-01 the 1900 leap-year bug shifts days; not a real case
        return None
    return _EXCEL_EPOCH + timedelta(days=serial)


def check_date(
    raw: str | None,
    *,
    not_before: date = EARLIEST,
    not_after: date | None = None,
    excel_serial: bool = False,
) -> DateCheck:
    """Read one date text; ``excel_serial`` admits spreadsheet day numbers (XLSX sources)."""

    def result(status: str, value: date | None, precision: str | None, form: str | None):
        if value is not None:
            if value < not_before:
                status = "too_early"
            elif not_after is not None and value > not_after:
                status = "future"
        return DateCheck(raw, value, precision, status, form)

    text = strip_spaces(raw) if raw is not None else ""
    if text == "":
        return result("empty", None, None, None)
    for form, pattern in _DAY_FORMS:
        m = pattern.fullmatch(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                return result("valid", date(y, mo, d), "day", form)
            except ValueError:
                return result("impossible", None, "day", form)
    for form, pattern in _MONTH_FORMS:
        m = pattern.fullmatch(text)
        if m:
            y, mo = (int(g) for g in m.groups())
            if y not in MONTH_FORM_YEARS:
                continue
            if not 1 <= mo <= 12:
                return result("impossible", None, "month", form)
            return result("valid", date(y, mo, 1), "month", form)
    if excel_serial:
        m = _SERIAL.fullmatch(text)
        if m:
            day = _excel_serial(int(m.group(1)))
            if day is not None:
                return result("valid", day, "day", "excel_serial")
    return result("unparsed", None, None, None)
