"""Dates in every form the spec lists, with their precision; impossible and future dates flagged."""

from __future__ import annotations

from datetime import date

import pytest
from siheyuan.standardise.dates import STATUSES, check_date

EXTRACT = date(2026, 10, 1)

CASES = [
    # (raw, excel_serial, status, value, precision, form)
    ("19850302", False, "valid", date(1985, 3, 2), "day", "yyyymmdd"),  # police_hukou
    ("1985-03-02", False, "valid", date(1985, 3, 2), "day", "separated"),  # floating, health
    ("1985/3/2", False, "valid", date(1985, 3, 2), "day", "separated"),  # civil_assistance
    ("1985.03.02", False, "valid", date(1985, 3, 2), "day", "separated"),
    ("1985年3月2日", False, "valid", date(1985, 3, 2), "day", "separated"),
    ("1985-03-02 00:00:00", False, "valid", date(1985, 3, 2), "day", "separated"),  # XLSX cell
    ("1985-03-02T08:30:00", False, "valid", date(1985, 3, 2), "day", "separated"),
    ("１９８５０３０２", False, "valid", date(1985, 3, 2), "day", "yyyymmdd"),  # fullwidth
    (" 19850302 ", False, "valid", date(1985, 3, 2), "day", "yyyymmdd"),  # space_edge
    ("31108", True, "valid", date(1985, 3, 2), "day", "excel_serial"),  # Excel serial day
    ("31108.0", True, "valid", date(1985, 3, 2), "day", "excel_serial"),
    ("31108", False, "unparsed", None, None, None),  # serials only from spreadsheets
    ("198503", False, "valid", date(1985, 3, 1), "month", "yyyymm"),  # hr 出生年月
    ("1985-03", False, "valid", date(1985, 3, 1), "month", "separated_month"),
    ("1985年3月", False, "valid", date(1985, 3, 1), "month", "separated_month"),
    ("19850230", False, "impossible", None, "day", "yyyymmdd"),  # date_impossible
    ("1985-02-30", False, "impossible", None, "day", "separated"),
    ("19851301", False, "impossible", None, "day", "yyyymmdd"),
    ("198513", False, "impossible", None, "month", "yyyymm"),
    ("20300101", False, "future", date(2030, 1, 1), "day", "yyyymmdd"),
    ("202701", False, "future", date(2027, 1, 1), "month", "yyyymm"),
    ("18700101", False, "too_early", date(1870, 1, 1), "day", "yyyymmdd"),
    ("不详", False, "unparsed", None, None, None),
    ("1985", False, "unparsed", None, None, None),  # a year alone is not a date
    ("850302", False, "unparsed", None, None, None),  # YYMMDD, not the month 8503-02
    ("8503-02", False, "unparsed", None, None, None),
    ("187001", False, "unparsed", None, None, None),  # before 1880: not a month form
    ("210001", False, "future", date(2100, 1, 1), "month", "yyyymm"),  # still a month
    ("", False, "empty", None, None, None),
    (None, False, "empty", None, None, None),
]


@pytest.mark.parametrize(("raw", "serial", "status", "value", "precision", "form"), CASES)
def test_check_date(raw, serial, status, value, precision, form) -> None:
    got = check_date(raw, not_after=EXTRACT, excel_serial=serial)
    assert (got.status, got.value, got.precision, got.form) == (status, value, precision, form)
    assert got.usable is (status == "valid")
    assert got.status in STATUSES


def test_without_an_upper_bound_nothing_is_future() -> None:
    assert check_date("20300101").status == "valid"


def test_excel_serial_matches_excel_1900_system() -> None:
    # 1900-03-01 is serial 61 in Excel (it counts a 29 February 1900 that never was)
    assert check_date("61", excel_serial=True).status == "unparsed"  # five digits only
    assert check_date("45658", excel_serial=True).value == date(2025, 1, 1)
