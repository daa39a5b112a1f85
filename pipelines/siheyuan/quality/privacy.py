"""Masking for text the gate writes: reasons, check details, override reasons, log lines.

The gate never puts a delivered value of a sensitive column into a message on purpose; this is
the second line of defence for text that quotes something (a parser's error, a column name that
is really data, a reason an engineer typed): anything shaped like an ID number (also written in
groups, ``330106 1990 0101 1234``), a mobile number or a landline number is masked, and every
health-condition word of ``sensitive_terms.yml`` is replaced, before the text is stored or logged.

Masking must not make the text useless either: counts, shares (``0.1389922972``), dates, file
names and hex identifiers (SHA-256, UUIDs) stay readable, because an auditor needs them. Where the
two pull apart the mask wins, since a leaked ID number cannot be taken back but an over-masked
count can be read again from the data:

- Only a fraction whose integer part is exactly ``0`` is exempt (shares are below 1), so
  ``原因：1.330106198503021234`` and ``2.13912345678`` (numbered lists, common in typed reasons)
  are masked, and so is a ratio like ``1.13912345678``. Even after ``0.`` an 18- or 15-digit run
  that reads as an ID number (province prefix and birth date) is masked.
- Grouped digits are an ID number only in groups of at least 2 digits opened by a group of at
  least 4 (``330106 1990 0101 1234``, ``330106-19900101-1234``, ``3301 0619 9001 0112 34``) or
  by two groups of 3 that spell a county code (``330 106 1990 0101 1234``), and only when they
  read as an ID number. Counting lists (``rows 1 2 3 … 18``, ``rows 118 119 120 121 122``) stay
  readable; ``110000 19990101 0000`` (province 北京, a real date) is masked all the same.
- Not caught: a grouping opened by 1-2 digits (``33 01 06 …``), a lone check character in its
  own group (``330106 19850302 123 X``: the 17 digits stay readable), digits split by anything
  but one space or dash (``330106 / 1990 / 0101 / 1234``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import yaml

from siheyuan.standardise.codes import id_region_codes, province_codes
from siheyuan.standardise.id_number import mask_id_number

TERMS_PATH = Path(__file__).with_name("sensitive_terms.yml")

# Chinese input methods type full-width digits (３３０１０６…): they are read as ASCII digits.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_FULL_WIDTH_DIGIT = re.compile("[０-９]")  # translate only when needed: it is the slow part
_D = "[0-9]"
_X = "[XxＸｘ]"  # the ID check character
_DIGITS = "0123456789"
_NOT_IN_NUMBER = r"(?<![0-9])"
# Not inside a longer run of digits, and not the fraction of a share: "0." with nothing before
# the 0 (0.13912345678). "1.", "12.", "10." stay: "1.13912345678" is a numbered list item.
_START = rf"{_NOT_IN_NUMBER}(?<!(?<![0-9])0\.)"
_END = r"(?![0-9])"

# 18 characters (last may be X) or 15 digits. A letter right after it does not make it something
# else ("33010619850302123Xabc" still carries the number). After "0." it is decided by
# _mask_id_like (a share is kept unless it reads as an ID number).
_ID_LIKE = re.compile(rf"{_NOT_IN_NUMBER}(?:{_D}{{17}}(?:{_D}|{_X})|{_D}{{15}}){_END}")
# Digit groups joined by single separators ("330106 1990 0101 1234", "330106-19900101-1234",
# full-width spaces): which groups form an ID number is decided by _mask_grouped, which tests
# the shape, so "0." exempts nothing here.
_SEP = "[ \\-\u00a0\u3000\u2010-\u2014\uff0d]"
_GROUPED = re.compile(rf"{_NOT_IN_NUMBER}{_D}+(?:{_SEP}{{1,2}}{_D}+)+{_X}?{_END}")
_GROUP = re.compile(rf"{_D}+{_X}?")
# Mainland mobile numbers, optionally +86 / 86 prefixed, with optional separators.
_PHONE_LIKE = re.compile(rf"{_START}(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{{4}}[- ]?\d{{4}}{_END}")
# Landlines: an area code (0 + 2-3 digits, optionally in brackets) then a 7-8 digit local number.
_LANDLINE_LIKE = re.compile(
    rf"{_START}(?:\(0\d{{2,3}}\)|0\d{{2,3}})[- ]?\d{{3,4}}[- ]?\d{{4}}{_END}"
)
# Hex identifiers are kept whole: a SHA-256 often holds a run of 15 or 18 decimal digits.
_HEX_TOKEN = re.compile(
    r"((?<![0-9A-Za-z])(?:[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
    r"|[0-9A-Fa-f]{32,})(?![0-9A-Za-z]))"
)


def mask_phone(value: str) -> str:
    """``138****5678``: the carrier prefix and the last four digits only."""
    digits = re.sub(r"\D", "", value)[-11:]
    return digits[:3] + "****" + digits[-4:] if len(digits) == 11 else "*" * len(value)


def mask_landline(value: str) -> str:
    """``0571-****8888``: the area code (a city, not a person) and the last four digits."""
    digits = re.sub(r"\D", "", value)
    area = 3 if digits[:2] in ("01", "02") else 4  # Beijing 010, Shanghai 021 … have 3 digits
    local = digits[area:]
    return f"{digits[:area]}-" + "*" * (len(local) - 4) + local[-4:]


def _looks_like_id(chars: str) -> bool:
    """Grouped digits that read as an ID number: a province prefix and a birth month and day.

    Why more than a length check: a run of separated numbers ("rows 10 11 12 … 18") can add up
    to 18 digits by chance; an unseparated 18-digit run cannot, so ``_ID_LIKE`` needs no test
    (except after ``0.``). Why only the province, not the county: a grouped number with a
    mistyped county is still a person's number, so ``110000 19990101 0000`` is masked. The cost:
    a grouped number with a mistyped province, month or day stays readable.
    """
    if len(chars) == 18:
        if not chars[:17].isdigit() or chars[6:8] not in ("18", "19", "20"):
            return False
        month, day = chars[10:12], chars[12:14]
    elif len(chars) == 15 and chars.isdigit():
        month, day = chars[8:10], chars[10:12]
    else:
        return False
    return chars[:2] in province_codes() and "01" <= month <= "12" and "01" <= day <= "31"


def _mask_id_like(match: re.Match[str]) -> str:
    """Mask an 18/15-character run, except a share's fraction (``0.138992297212345``).

    The fraction of ``0.`` is kept unless it reads as an ID number: a share printed to 15 or 18
    places rarely does (measured: 1 in 80 and 1 in 3,000), a pasted ID number always does.
    """
    number, start, text = match.group(0), match.start(), match.string
    after_zero_point = (
        start >= 2
        and text[start - 2 : start] == "0."
        and (start == 2 or text[start - 3] not in _DIGITS)
    )
    return number if after_zero_point and not _looks_like_id(number) else mask_id_number(number)


def _opens_id(groups: list[tuple[int, int, str]], i: int) -> bool:
    """Whether group ``i`` can be the first group of a typed ID number.

    Typed ID numbers open with the region code whole (6-8-4, 6-4-4-4, 6-6-3) or in 4-digit
    chunks (4-4-4-4-2); a 3-digit opening (3-3-8-4) counts only when the two 3-digit groups spell
    a county code, because row numbers (``118 119 120 121 122``) also come in 3s.
    """
    first = groups[i][2]
    if len(first) == 4 or len(first) >= 6:  # no typed layout opens with 5 (12001 12002 12003)
        return True
    return (
        len(first) == 3
        and i + 1 < len(groups)
        and len(groups[i + 1][2]) == 3
        and first + groups[i + 1][2] in id_region_codes()
    )


def _mask_grouped(match: re.Match[str]) -> str:
    """Mask each run of whole groups in ``match`` that forms an ID number, preferring 18 to 15.

    Every group of an ID number has at least 2 characters: a 1-digit group is a counting list
    (``rows 1 2 3 4 5 6 7 8 9 10 11 12 13``), never part of a typed number.
    """
    run = match.group(0)
    groups = [
        (g.start(), g.end(), unicodedata.normalize("NFKC", g.group(0)).upper())
        for g in _GROUP.finditer(run)
    ]
    out, done, i = [], 0, 0
    while i < len(groups):
        if not _opens_id(groups, i):
            i += 1
            continue
        chars, found = "", None
        for j in range(i, len(groups)):
            if len(groups[j][2]) < 2:
                break
            chars += groups[j][2]
            if len(chars) in (15, 18) and _looks_like_id(chars):
                found = (j, chars)
            if len(chars) >= 18:
                break
        if found is None:
            i += 1
            continue
        j, chars = found
        out += [run[done : groups[i][0]], mask_id_number(chars)]
        done, i = groups[j][1], j + 1
    return "".join(out) + run[done:]


@cache
def sensitive_terms() -> tuple[str, re.Pattern[str]]:
    """The mask label and one compiled pattern of every term (``sensitive_terms.yml``).

    One alternation, longest term first, so ``2型糖尿病`` is masked whole and each text is
    scanned once whatever the number of terms: ``mask_text`` runs on every reason.
    """
    config = yaml.safe_load(TERMS_PATH.read_text(encoding="utf-8"))
    terms = {t.strip() for group in config["terms"].values() for t in group if t.strip()}
    pattern = "|".join(re.escape(t) for t in sorted(terms, key=lambda t: (-len(t), t)))
    return str(config["mask"]), re.compile(pattern)


def _mask_plain(text: str) -> str:
    if _FULL_WIDTH_DIGIT.search(text):
        text = text.translate(_FULL_WIDTH_DIGITS)
    text = _GROUPED.sub(_mask_grouped, text)
    text = _ID_LIKE.sub(_mask_id_like, text)
    text = _PHONE_LIKE.sub(lambda m: mask_phone(m.group(0)), text)
    text = _LANDLINE_LIKE.sub(lambda m: mask_landline(m.group(0)), text)
    label, terms = sensitive_terms()
    return terms.sub(label, text)


def mask_text(text: str | None) -> str | None:
    """``text`` with ID-number-like, mobile-like and landline-like runs and condition words masked.

    Hex identifiers (SHA-256, UUIDs) are left whole: they are split off before masking.
    """
    if text is None:
        return None
    parts = _HEX_TOKEN.split(text)  # odd positions: the hex tokens themselves
    return "".join(p if i % 2 else _mask_plain(p) for i, p in enumerate(parts))
