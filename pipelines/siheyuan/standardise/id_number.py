"""Citizen ID numbers (GB 11643-1999): clean, classify, convert, mask — never guess.

An 18-character number is a 6-digit GB/T 2260 region code, the birth date YYYYMMDD, a 3-digit
sequence (odd for men) and an ISO 7064 MOD 11-2 check character (0-9 or X). Numbers issued
before 1999 have 15 digits (YYMMDD, no check character) and convert by inserting ``19``.

Only a number that is exactly valid (or a 15-digit number that converts cleanly) gets a
``canonical`` form. Everything else is classified by what is wrong with it so a data steward
can act on it, and nothing is ever corrected:

- ``excel_mangled``: what a spreadsheet made of the number, which cannot be undone — the
  exponent form (``4.10102E+17``), float text (``….0``), or all 18 digits shown after Excel
  kept only 15 significant ones (``410102199001011000``: ends in ``000`` and fails the check).
  Such a number is not a transposition even when a swap happens to satisfy the check digit.
- ``transposition_suspected``: the check digit fails and EXACTLY ONE swap of two adjacent
  digits gives a number with a right check digit, a plausible birth date and a known region.
  It says "one swap would explain it", not "it was a swap": measured on random numbers, every
  real adjacent swap still gets a candidate, but so do about one in five one-digit typos (one
  in six have exactly one). With two or more candidates nothing points at one swap, and the
  number is judged like any other (``bad_birth_date`` / ``unknown_region`` /
  ``bad_check_digit``). The swap is never applied: a wrong guess would merge two residents.

Region codes are validated against the county-level codes of ``seeds/gbt2260_region.csv``
(``codes.id_region_codes``), which keeps historic codes: a number stays valid for life even
when its district is renamed or merged. Province and prefecture codes (``330000``,
``330100``) are not issuing regions, except a prefecture-level city without counties (东莞).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from operator import mul

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siheyuan.standardise.codes import id_region_codes, province_codes
from siheyuan.standardise.text import strip_spaces

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH = date(1880, 1, 1)

STATUSES = (
    "valid",
    "converted_15",
    "empty",
    "bad_check_digit",
    "transposition_suspected",
    "bad_birth_date",
    "unknown_region",
    "excel_mangled",
    "bad_chars",
    "bad_length",
)
USABLE_STATUSES = frozenset({"valid", "converted_15"})

# What a spreadsheet makes of a long number: exponent form (4.10102E+17) or float text (….0).
_EXCEL_NUMBER = re.compile(r"\d+(?:\.\d*)?E[+-]?\d+|\d+\.\d*")
# Excel keeps 15 significant digits: an 18-digit number shown in full ends in 000.
_EXCEL_PRECISION_LOST = re.compile(r"\d{15}000")
_ID18 = re.compile(r"\d{17}[\dX]")
_ID_CHARS = re.compile(r"[\dX]+")


@dataclass(frozen=True)
class IdNumberCheck:
    """The outcome of checking one delivered ID number."""

    raw: str | None
    cleaned: str  # spaces removed, full-width folded, upper-case X
    canonical: str | None  # the valid canonical 18-digit number, else None (never a guess)
    status: str  # one of STATUSES

    @property
    def usable(self) -> bool:
        """True when the number can identify a person (``canonical`` is set)."""
        return self.canonical is not None


def check_char(first17: str) -> str:
    """The MOD 11-2 check character for 17 digits.

    ``map`` rather than a generator over ``zip``: the quality gate checks every delivered number
    (a million a month), and this is about three times faster.
    """
    if len(first17) != len(WEIGHTS):
        raise ValueError("the check character is computed over exactly 17 digits")
    return CHECK_CHARS[sum(map(mul, map(int, first17), WEIGHTS)) % 11]


def birth_date_of(id18: str, today: date | None = None) -> date | None:
    """The birth date an 18-character number encodes, or None when it is not a plausible one."""
    try:
        born = date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))
    except ValueError:
        return None
    return born if EARLIEST_BIRTH <= born <= (today or date.today()) else None


def region_known(code6: str) -> bool:
    """A known (current or historic) county-level GB/T 2260 code in a known province."""
    return code6[:2] in province_codes() and code6 in id_region_codes()


def _plausible(id18: str, today: date | None) -> bool:
    return birth_date_of(id18, today) is not None and region_known(id18[:6])


def transposition_candidates(id18: str, today: date | None = None) -> list[str]:
    """Valid, plausible numbers one adjacent swap within the first 17 digits away.

    Weights of neighbouring positions never differ by a multiple of 11, so a real transposition
    always breaks the check digit; the candidates explain the failure but are not applied.
    """
    found = []
    for i in range(16):
        a, b = id18[i], id18[i + 1]
        if a == b:
            continue
        cand = id18[:i] + b + a + id18[i + 2 :]
        if check_char(cand[:17]) == cand[17] and _plausible(cand, today):
            found.append(cand)
    return found


def clean_id_number(raw: str | None) -> str:
    """Spaces removed, full-width folded, upper-case (the lowercase ``x`` check character)."""
    if raw is None:
        return ""
    if raw.isascii() and raw.isalnum():  # the usual case: nothing to fold or strip
        return raw.upper()
    return strip_spaces(raw).upper()


def check_id_number(raw: str | None, *, today: date | None = None) -> IdNumberCheck:
    """Classify a delivered ID number; ``canonical`` only when it is certainly right.

    ``today`` bounds plausible birth dates (default: the current date).
    """
    cleaned = clean_id_number(raw)

    def result(status: str, canonical: str | None = None) -> IdNumberCheck:
        return IdNumberCheck(raw=raw, cleaned=cleaned, canonical=canonical, status=status)

    if cleaned == "":
        return result("empty")
    if _EXCEL_NUMBER.fullmatch(cleaned):
        return result("excel_mangled")
    if not _ID_CHARS.fullmatch(cleaned):
        return result("bad_chars")
    if len(cleaned) == 15:
        if not cleaned.isdigit():
            return result("bad_chars")
        body = cleaned[:6] + "19" + cleaned[6:]
        id18 = body + check_char(body)
        if birth_date_of(id18, today) is None:
            return result("bad_birth_date")
        if not region_known(id18[:6]):
            return result("unknown_region")
        return result("converted_15", id18)
    if len(cleaned) != 18:
        return result("bad_length")
    if not _ID18.fullmatch(cleaned):
        return result("bad_chars")
    if check_char(cleaned[:17]) != cleaned[17]:
        if _EXCEL_PRECISION_LOST.fullmatch(cleaned):
            return result("excel_mangled")
        if len(transposition_candidates(cleaned, today)) == 1:
            return result("transposition_suspected")
        if birth_date_of(cleaned, today) is None:
            return result("bad_birth_date")
        if not region_known(cleaned[:6]):
            return result("unknown_region")
        return result("bad_check_digit")
    if birth_date_of(cleaned, today) is None:
        return result("bad_birth_date")
    if not region_known(cleaned[:6]):
        return result("unknown_region")
    return result("valid", cleaned)


def mask_id_number(value: str | None) -> str:
    """``330106********1234`` style: region and last four kept, safe to log for any input.

    Short or odd input keeps at most a third of its characters so nothing identifying leaks.
    """
    if value is None:
        return ""
    text = clean_id_number(value)
    if len(text) >= 15:
        return text[:6] + "*" * (len(text) - 10) + text[-4:]
    keep = len(text) // 3
    return text[:keep] + "*" * (len(text) - keep)


# The form nearly every delivered number has: 17 ASCII digits and a check character.
_ID18_ASCII = r"^[0-9]{17}[0-9Xx]$"
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


@cache
def _issuing_region_numbers() -> np.ndarray:
    """The codes :func:`region_known` accepts, as sorted integers (all are six digits)."""
    codes = sorted(int(c) for c in id_region_codes() if c[:2] in province_codes())
    return np.array(codes, dtype=np.int64)


def id_numbers_usable(values: Sequence[str | None], today: date) -> list[bool]:
    """``check_id_number(v, today=today).usable`` for every value, a column at a time.

    Why: the quality gate judges every delivered number of every batch (a million a month), and
    one call per number is most of the gate's time. Values of the usual form — 17 ASCII digits
    and a check character — are judged with array arithmetic (check character, calendar date
    between 1880 and ``today``, issuing region); that judgement is exactly the one
    :func:`check_id_number` makes for such a value, because every other status it can give one
    is unusable. Any other value (spaces, full-width digits, 15 digits, Excel forms) goes
    through :func:`check_id_number` itself.
    """
    if not len(values):
        return []
    result = np.zeros(len(values), dtype=bool)
    column = pa.array(values, type=pa.string())
    fast = pc.fill_null(pc.match_substring_regex(column, _ID18_ASCII), False)
    fast_rows = np.flatnonzero(fast.to_numpy(zero_copy_only=False))
    if len(fast_rows):
        text = "".join([values[i] for i in fast_rows])  # type: ignore[misc]
        chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        digits = chars[:, :17].astype(np.int64) - ord("0")
        expected = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)[
            digits @ np.array(WEIGHTS, dtype=np.int64) % 11
        ]
        last = np.where(chars[:, 17] == ord("x"), ord("X"), chars[:, 17])
        year = digits[:, 6:10] @ np.array([1000, 100, 10, 1], dtype=np.int64)
        month = digits[:, 10:12] @ np.array([10, 1], dtype=np.int64)
        day = digits[:, 12:14] @ np.array([10, 1], dtype=np.int64)
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        month_ok = (month >= 1) & (month <= 12)
        days = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
        ymd = year * 10_000 + month * 100 + day
        earliest, latest = (int(d.strftime("%Y%m%d")) for d in (EARLIEST_BIRTH, today))
        region = digits[:, :6] @ 10 ** np.arange(5, -1, -1, dtype=np.int64)
        result[fast_rows] = (
            (expected == last)
            & month_ok
            & (day >= 1)
            & (day <= days)
            & (ymd >= earliest)
            & (ymd <= latest)
            & np.isin(region, _issuing_region_numbers())
        )
    slow = np.ones(len(values), dtype=bool)
    slow[fast_rows] = False
    for i in np.flatnonzero(slow):
        result[i] = check_id_number(values[i], today=today).usable
    return result.tolist()
