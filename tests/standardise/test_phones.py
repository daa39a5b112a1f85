"""Phones to E.164 with phonenumbers: every format the generator's phone_format dirt writes."""

from __future__ import annotations

import random

import pytest
from siheyuan.standardise.phones import check_phone

MOBILE = "+8613812345678"
LANDLINE = "+8657188886666"

CASES = [
    ("13812345678", "valid", MOBILE, "mobile"),
    ("+86 13812345678", "valid", MOBILE, "mobile"),
    ("+8613812345678", "valid", MOBILE, "mobile"),
    ("86-13812345678", "valid", MOBILE, "mobile"),
    ("008613812345678", "valid", MOBILE, "mobile"),
    ("138-1234-5678", "valid", MOBILE, "mobile"),
    ("138 1234 5678", "valid", MOBILE, "mobile"),
    ("１３８１２３４５６７８", "valid", MOBILE, "mobile"),  # fullwidth
    (" 13812345678\u3000", "valid", MOBILE, "mobile"),  # space_edge
    ("0571-88886666", "valid", LANDLINE, "landline"),
    ("057188886666", "valid", LANDLINE, "landline"),
    ("0571 88886666", "valid", LANDLINE, "landline"),
    ("(0571)88886666", "valid", LANDLINE, "landline"),
    ("+86-571-88886666", "valid", LANDLINE, "landline"),
    ("88886666", "invalid", None, "invalid"),  # landline without area code: not guessed
    ("1381234567", "invalid", None, "invalid"),  # one digit short
    ("12345", "invalid", None, "invalid"),
    ("无", "invalid", None, "invalid"),
    ("13812345678,13912345678", "several", None, "invalid"),
    ("13812345678/0571-88886666", "several", None, "invalid"),
    # letters are keypad digits to phonenumbers: refused, never turned into a number
    ("137ABCD1234", "invalid", None, "invalid"),
    ("1-800-FLOWERS", "invalid", None, "invalid"),
    ("+86 138 1234 567８O", "invalid", None, "invalid"),  # letter O for a zero
    ("tel:+86-138-1234-5678", "valid", MOBILE, "mobile"),  # only a leading tel: is allowed
    ("TEL:0571-88886666", "valid", LANDLINE, "landline"),
    # a valid foreign number the plan cannot call mobile or landline is neither
    ("+1 650 253 0000", "valid", "+16502530000", "other"),
    ("", "empty", None, "empty"),
    (None, "empty", None, "empty"),
]


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(("raw", "status", "e164", "kind"), CASES)
def test_check_phone(raw, status, e164, kind, fast) -> None:
    got = check_phone(raw, fast=fast)
    assert (got.status, got.e164, got.kind) == (status, e164, kind)
    assert got.usable is (e164 is not None)


def test_fast_path_agrees_with_phonenumbers_on_every_prefix() -> None:
    """Every 1xx-xxxx prefix block, in the forms departments write: same answer both ways."""
    rng = random.Random(7)
    for prefix in range(1000, 2000):
        nsn = f"{prefix}{rng.randrange(10**7):07d}"
        for text in (nsn, "+86 " + nsn, f"86-{nsn[:3]}-{nsn[3:7]}-{nsn[7:]}"):
            assert check_phone(text) == check_phone(text, fast=False), text
