"""Chinese numerals in addresses (三号楼, 十二幢, 二十三单元, 三零一室) as integers.

Addresses only carry small whole numbers (buildings, units, floors, rooms), so this is the
few lines that need rather than a dependency: cn2an handles money, decimals and negatives that
never occur here (see docs/decisions/0005-address-parsing.md).
"""

from __future__ import annotations

import re

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
DIGITS |= {"七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL_CHARS = "".join(DIGITS) + "".join(UNITS)
# An address number: ASCII digits (after full-width folding) or a run of Chinese numerals.
NUMBER = rf"(?:\d+|[{NUMERAL_CHARS}]+)"
_DIGIT_RUN = re.compile(rf"[{''.join(DIGITS)}]+")


def to_int(text: str) -> int | None:
    """``"12"``, ``"十二"``, ``"二十三"``, ``"一百零五"`` or ``"三零一"`` as an int; None otherwise.

    A run of digit characters without 十/百/千 is read digit by digit (三零一 = 301, the way
    room numbers are spoken); with them it is read positionally (三百零一 = 301).
    """
    if not text:
        return None
    if text.isascii():
        return int(text) if text.isdigit() else None
    if _DIGIT_RUN.fullmatch(text):
        return int("".join(str(DIGITS[c]) for c in text))
    total, digit, last_unit = 0, None, 10_000
    for c in text:
        if c in "零〇" and total:  # a placeholder zero inside a positional numeral (一百零五)
            continue
        if c in DIGITS:
            if digit is not None:  # two digits in a row inside a positional numeral
                return None
            digit = DIGITS[c]
        elif c in UNITS:
            unit = UNITS[c]
            if unit >= last_unit:  # 十百 and similar are not numbers
                return None
            if digit is None:
                if c != "十" or total:  # only a leading 十 may stand alone (十二 = 12)
                    return None
                digit = 1
            total += digit * unit
            digit, last_unit = None, unit
        else:
            return None
    if digit is not None:
        if last_unit > 10 and total and text[-2] not in "零〇":
            # 一百五 = 150: a trailing digit after 百 counts in tens (spoken shorthand)
            total += digit * (last_unit // 10)
        else:
            total += digit
    return total


def to_digits(text: str | None) -> str | None:
    """The number as a canonical digit string without leading zeros (``"03"`` → ``"3"``)."""
    if text is None:
        return None
    n = to_int(text)
    return None if n is None else str(n)
