"""Finding an ID number, mobile number or health condition in text the hub stores or prints.

Shared by the tests that pin "never in logs, reports or meta tables". A plain digit search is not
enough: stored text is full of hashes (run UUIDs, SHA-256 of the model and config, git commits,
the hub's own ids such as ``R18615166588bf97a``) and fractions GX writes (``0.13899…``), and
about one hash in a few dozen holds eleven digits that look like a mobile. Those are blanked
before scanning, so a test fails on a real value and never on a hash.
"""

from __future__ import annotations

import re

ID_NUMBER = re.compile(r"(?<![\d.])\d{17}[\dXx](?![\dA-Za-z])")
PHONE = re.compile(r"(?<![\d.])1[3-9]\d{9}(?!\d)")
CONDITIONS = ("高血压", "糖尿病", "冠心病", "慢阻肺", "脑卒中", "高脂血症")

_HEX = re.compile(
    r"(?i)[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|(?<![0-9a-z])[0-9a-f]{32,}(?![0-9a-z])"
)
# the hub's stable ids: one capital letter and 16 hex digits (stable_id macro, resident_id_for)
_STABLE_ID = re.compile(r"(?<![0-9A-Za-z])[A-Z][0-9a-f]{16}(?![0-9A-Za-z])")


def without_hashes(text: str) -> str:
    """The text with UUIDs, long hex digests and the hub's stable ids blanked."""
    return _STABLE_ID.sub(" ", _HEX.sub(" ", text))


def ids_or_phones(text: str) -> list[str]:
    """ID numbers and mobile numbers in the text, hashes aside."""
    text = without_hashes(text)
    return ID_NUMBER.findall(text) + PHONE.findall(text)


def leaks(text: str) -> list[str]:
    """Every ID number, mobile and condition name in the text."""
    return ids_or_phones(text) + [c for c in CONDITIONS if c in text]
