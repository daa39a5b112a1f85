"""Masking for text the gate writes: reasons, check details, log lines.

The gate never puts a delivered value of a sensitive column into a message on purpose; this is
the second line of defence for text that quotes something (a parser's error, a column name that
is really data): anything shaped like an ID number or a mobile phone number is masked before it
is stored or logged.
"""

from __future__ import annotations

import re

from siheyuan.standardise.id_number import mask_id_number

# 18 characters (last may be X) or 15 digits, not inside a longer run of digits.
_ID_LIKE = re.compile(r"(?<![0-9])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
# Mainland mobile numbers, optionally +86 / 86 prefixed, with optional separators.
_PHONE_LIKE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![0-9])")


def mask_phone(value: str) -> str:
    """``138****5678``: the carrier prefix and the last four digits only."""
    digits = re.sub(r"\D", "", value)[-11:]
    return digits[:3] + "****" + digits[-4:] if len(digits) == 11 else "*" * len(value)


def mask_text(text: str | None) -> str | None:
    """``text`` with every ID-number-like and phone-like run masked."""
    if text is None:
        return None
    text = _ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), text)
    return _PHONE_LIKE.sub(lambda m: mask_phone(m.group(0)), text)
