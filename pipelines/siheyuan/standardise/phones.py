"""Phone numbers to E.164 with Google's libphonenumber metadata (the ``phonenumbers`` package).

Departments write the same number as ``13812345678``, ``+86 138 1234 5678``, ``86-13812345678``,
``0571-88886666``, ``(0571)88886666`` or in full-width digits. ``phonenumbers`` parses all of
them with region CN and knows China's mobile and landline number plans (area codes, lengths,
mobile prefixes), which a hand-written regex would have to track forever.

A number that is not a valid Chinese (or explicitly international) number is ``invalid`` and
gets no E.164 form; a landline written without its area code is invalid too — its area is not
guessed. Text with letters is invalid before it reaches the parser (only a leading ``tel:`` is
allowed): phonenumbers reads letters as keypad digits (``137ABCD1234`` would become the mobile
+8613722231234, ``1-800-FLOWERS`` a number), which turns a typo or a note into someone's phone.

The kind is ``mobile`` or ``landline`` only when the number plan says so; a valid number whose
plan cannot tell the two apart (FIXED_LINE_OR_MOBILE, e.g. +1 650 253 0000) or that is neither
(toll-free, VoIP …) is ``other``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneNumberType

from siheyuan.standardise.text import fold_fullwidth

REGION = "CN"
_KINDS = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
}
_TEL_PREFIX = re.compile(r"tel:", re.IGNORECASE)
_LETTER = re.compile(r"[A-Za-z]")
_SEVERAL = re.compile(r"[,，;；/、]")
_SEPARATORS = re.compile(r"[\s\-()]+")
_MOBILE_SHAPE = re.compile(r"(?:\+86|0086|86)?(1\d{10})")


def _pattern(desc) -> re.Pattern[str] | None:
    return re.compile(desc.national_number_pattern) if desc is not None else None


@cache
def _mobile_patterns() -> tuple[re.Pattern[str], list[re.Pattern[str]]]:
    """CN mobile pattern and the patterns of every other number type, from phonenumbers' metadata.

    Why: a full ``phonenumbers.parse`` costs tens of microseconds, and a million residents carry
    about a million distinct mobiles. An 11-digit number that matches the metadata's mobile
    pattern and no other type's is exactly what ``number_type`` would call MOBILE, so the fast
    path gives the same answer from the same metadata (tests compare both paths).
    """
    md = phonenumbers.PhoneMetadata.metadata_for_region(REGION)
    others = [
        _pattern(getattr(md, kind))
        for kind in (
            "fixed_line",
            "toll_free",
            "premium_rate",
            "shared_cost",
            "personal_number",
            "voip",
            "pager",
            "uan",
            "voicemail",
        )
    ]
    return _pattern(md.mobile), [o for o in others if o is not None]


def _fast_mobile(text: str) -> str | None:
    """The E.164 form when ``text`` is plainly a CN mobile number, else None (use the full path)."""
    m = _MOBILE_SHAPE.fullmatch(_SEPARATORS.sub("", text))
    if m is None:
        return None
    nsn = m.group(1)
    mobile, others = _mobile_patterns()
    if mobile.fullmatch(nsn) and not any(o.fullmatch(nsn) for o in others):
        return "+86" + nsn
    return None


@dataclass(frozen=True)
class PhoneCheck:
    """One delivered phone text, read."""

    raw: str | None
    e164: str | None  # +8613812345678, only for a valid number
    kind: str  # 'mobile' | 'landline' | 'other' (valid, neither for sure) | 'invalid' | 'empty'
    status: str  # 'valid' | 'empty' | 'invalid' | 'several'

    @property
    def usable(self) -> bool:
        return self.e164 is not None


def check_phone(raw: str | None, *, fast: bool = True) -> PhoneCheck:
    """Parse one phone text (region CN); ``several`` when it lists more than one number.

    ``fast=False`` skips the mobile fast path (for tests that prove both paths agree).
    """
    text = fold_fullwidth(raw).strip() if raw is not None else ""
    if text == "":
        return PhoneCheck(raw, None, "empty", "empty")
    if _SEVERAL.search(text):
        return PhoneCheck(raw, None, "invalid", "several")
    text = _TEL_PREFIX.sub("", text, count=1) if _TEL_PREFIX.match(text) else text
    if _LETTER.search(text):  # keypad letters would be read as digits: never a phone here
        return PhoneCheck(raw, None, "invalid", "invalid")
    if fast and (e164 := _fast_mobile(text)) is not None:
        return PhoneCheck(raw, e164, "mobile", "valid")
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException:
        return PhoneCheck(raw, None, "invalid", "invalid")
    if not phonenumbers.is_valid_number(number):
        return PhoneCheck(raw, None, "invalid", "invalid")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return PhoneCheck(raw, e164, _KINDS.get(phonenumbers.number_type(number), "other"), "valid")
