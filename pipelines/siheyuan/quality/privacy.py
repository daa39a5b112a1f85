"""Masking for text the gate writes: reasons, check details, override reasons, log lines.

The gate never puts a delivered value of a sensitive column into a message on purpose; this is
the second line of defence for text that quotes something (a parser's error, a column name that
is really data, a reason an engineer typed): anything shaped like an ID number, a mobile number
or a landline number is masked before it is stored or logged.
"""

from __future__ import annotations

import re

from siheyuan.standardise.id_number import mask_id_number

# 18 characters (last may be X) or 15 digits, not inside a longer run of digits. A letter right
# after it does not make it something else ("33010619850302123Xabc" still carries the number).
_ID_LIKE = re.compile(r"(?<![0-9])(?:\d{17}[\dXx]|\d{15})(?![0-9])")
# Mainland mobile numbers, optionally +86 / 86 prefixed, with optional separators.
_PHONE_LIKE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![0-9])")
# Landlines: an area code (0 + 2-3 digits, optionally in brackets) then a 7-8 digit local number.
_LANDLINE_LIKE = re.compile(r"(?<![0-9])(?:\(0\d{2,3}\)|0\d{2,3})[- ]?\d{3,4}[- ]?\d{4}(?![0-9])")


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


def mask_text(text: str | None) -> str | None:
    """``text`` with every ID-number-like, mobile-like and landline-like run masked."""
    if text is None:
        return None
    text = _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _PHONE_LIKE.sub(lambda m: mask_phone(m.group(0)), text)
    return _LANDLINE_LIKE.sub(lambda m: mask_landline(m.group(0)), text)
