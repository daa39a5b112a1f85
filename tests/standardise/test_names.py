"""Names: display as given, one comparable form, pinyin keys (every name dirt kind in dirt.yml)."""

from __future__ import annotations

import pytest
from siheyuan.standardise.names import MIDDLE_DOT, normalise_name, standardise_name

DOTTED = "买买提" + MIDDLE_DOT + "艾力"

CASES = [
    # (raw, normalised, pinyin, initials)
    ("张伟", "张伟", "zhang wei", "zw"),
    (" 张伟 ", "张伟", "zhang wei", "zw"),  # space_edge
    ("张 伟", "张伟", "zhang wei", "zw"),  # space_inner
    ("张\u3000伟", "张伟", "zhang wei", "zw"),  # ideographic space
    ("張偉", "张伟", "zhang wei", "zw"),  # traditional -> simplified
    ("欧陽鋒", "欧阳锋", "ou yang feng", "oyf"),
    (DOTTED, DOTTED, "mai mai ti ai li", "mmtal"),
    ("买买提•艾力", DOTTED, "mai mai ti ai li", "mmtal"),  # bullet
    ("买买提.艾力", DOTTED, "mai mai ti ai li", "mmtal"),  # full stop
    ("买买提・艾力", DOTTED, "mai mai ti ai li", "mmtal"),  # katakana middle dot
    ("买买提‧艾力", DOTTED, "mai mai ti ai li", "mmtal"),  # hyphenation point
    ("买买提．艾力", DOTTED, "mai mai ti ai li", "mmtal"),  # full-width full stop
    ("买买提 · 艾力", DOTTED, "mai mai ti ai li", "mmtal"),
    ("买买提艾力", "买买提艾力", "mai mai ti ai li", "mmtal"),  # dot missing: same keys
    ("张炜", "张炜", "zhang wei", "zw"),  # homophone: same keys, different form
    ("Tom Smith", "Tom Smith", "tom smith", "ts"),
    ("ＴＯＭ李", "TOM李", "tom li", "tl"),
    # a hyphen or dash between Chinese characters is a middle dot typed otherwise
    ("艾力-买买提", "艾力·买买提", "ai li mai mai ti", "almmt"),
    ("艾力 — 买买提", "艾力·买买提", "ai li mai mai ti", "almmt"),
    ("艾力－买买提", "艾力·买买提", "ai li mai mai ti", "almmt"),  # full-width hyphen
    # dots and hyphens outside Chinese text are the writer's own
    ("J. R. R. Tolkien", "J. R. R. Tolkien", "j r r tolkien", "jrrt"),
    ("Jean-Pierre", "Jean-Pierre", "jean-pierre", "j"),
    # surnames read as surnames (pypinyin alone: ceng, dan, jie, chou, qu, dan yu)
    ("曾伟", "曾伟", "zeng wei", "zw"),
    ("单丽", "单丽", "shan li", "sl"),
    ("解明", "解明", "xie ming", "xm"),
    ("仇勇", "仇勇", "qiu yong", "qy"),
    ("区志强", "区志强", "ou zhi qiang", "ozq"),
    ("單于雄", "单于雄", "chan yu xiong", "cyx"),  # compound surname, traditional
]


@pytest.mark.parametrize(("raw", "normalised", "pinyin", "initials"), CASES)
def test_standardise_name(raw, normalised, pinyin, initials) -> None:
    got = standardise_name(raw)
    assert (got.normalised, got.pinyin, got.initials) == (normalised, pinyin, initials)
    assert got.display == raw.strip()  # the display form is the name as given, trimmed


@pytest.mark.parametrize("raw", [None, "", "   ", "·"])
def test_empty_names(raw) -> None:
    got = standardise_name(raw)
    assert got.normalised is None and got.pinyin is None and not got.usable


@pytest.mark.parametrize(
    ("raw", "pinyin"),
    [
        ("王曾", "wang ceng"),  # 曾 later in the name keeps its ordinary reading
        ("曾曾", "zeng ceng"),
        ("买买提·曾", "mai mai ti ceng"),  # a transliterated name has no surname first
        ("Tom曾", "tom ceng"),
    ],
)
def test_the_surname_reading_applies_to_the_surname_only(raw, pinyin) -> None:
    assert standardise_name(raw).pinyin == pinyin


def test_normalise_is_idempotent() -> None:
    for raw, *_ in CASES:
        once = normalise_name(raw)
        assert normalise_name(once) == once
