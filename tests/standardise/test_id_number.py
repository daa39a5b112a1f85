"""GB 11643 ID numbers: every kind of dirt the spec and the generator's dirt.yml describe."""

from __future__ import annotations

from datetime import date

import pytest
from siheyuan.standardise.codes import id_region_codes
from siheyuan.standardise.id_number import (
    STATUSES,
    check_char,
    check_id_number,
    clean_id_number,
    id_numbers_usable,
    mask_id_number,
    transposition_candidates,
)
from siheyuan.standardise.text import strip_spaces

TODAY = date(2026, 11, 1)


def make_id(region: str, born: str, seq: str) -> str:
    """A valid 18-character number built with the MOD 11-2 algorithm (not a hard-coded one)."""
    body = region + born + seq
    return body + check_char(body)


def with_check(id18: str, wrong: bool) -> str:
    """The same first 17 digits with a check character that is (not) the right one."""
    right = check_char(id18[:17])
    return id18[:17] + (next(c for c in "0123456789X" if c != right) if wrong else right)


WOMAN = make_id("330106", "19850302", "124")  # Hangzhou Xihu
MAN_X = next(
    make_id("330102", "19721105", f"{s:03d}")
    for s in range(1, 999, 2)
    if check_char("33010219721105" + f"{s:03d}") == "X"
)
FLOATING = make_id("411523", "19990101", "031")  # Henan, a floating resident
HISTORIC = make_id("330125", "19600815", "011")  # 余杭县, abolished 1994: still a valid number
OLD15 = "330106850302124"  # pre-1999 form of WOMAN


def swap(v: str, i: int) -> str:
    return v[:i] + v[i + 1] + v[i] + v[i + 2 :]


FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def with_candidates(n: int) -> str:
    """A number with a wrong check digit that exactly ``n`` adjacent swaps would make valid."""
    for seq in range(1000):
        for c in "0123456789X":
            body = "33010619850302" + f"{seq:03d}"
            cand = body + c
            if c != check_char(body) and len(transposition_candidates(cand, today=TODAY)) == n:
                return cand
    raise AssertionError(f"no number with {n} candidates")


CASES = [
    # (raw, status, canonical)
    (WOMAN, "valid", WOMAN),
    (MAN_X, "valid", MAN_X),
    (MAN_X[:-1] + "x", "valid", MAN_X),  # id_lower_x
    (MAN_X.translate(FULLWIDTH), "valid", MAN_X),  # fullwidth incl. Ｘ
    ("  " + WOMAN + "\u3000", "valid", WOMAN),  # space_edge incl. ideographic space
    (WOMAN[:6] + " " + WOMAN[6:], "valid", WOMAN),  # space_inner
    (HISTORIC, "valid", HISTORIC),
    (FLOATING, "valid", FLOATING),
    (OLD15, "converted_15", WOMAN),
    (None, "empty", None),
    ("", "empty", None),
    ("   ", "empty", None),
    (with_check(WOMAN, wrong=True), "bad_check_digit", None),  # id_bad_check (see below)
    (swap(WOMAN, 8), "transposition_suspected", None),  # id_transposed in the birth date
    (swap(WOMAN, 14), "transposition_suspected", None),  # id_transposed in the sequence
    (make_id("330106", "19850230", "124"), "bad_birth_date", None),  # 30 February
    (make_id("330106", "20300101", "124"), "bad_birth_date", None),  # born in the future
    (make_id("330106", "18500101", "124"), "bad_birth_date", None),  # implausibly old
    ("330106850230124", "bad_birth_date", None),  # 15-digit, impossible date
    (make_id("990106", "19850302", "124"), "unknown_region", None),  # no province 99
    (make_id("330199", "19850302", "124"), "unknown_region", None),  # no county 330199
    (make_id("330000", "19850302", "124"), "unknown_region", None),  # a province, not a county
    (make_id("330100", "19850302", "124"), "unknown_region", None),  # a prefecture
    (make_id("441900", "19850302", "124"), "valid", make_id("441900", "19850302", "124")),  # 东莞
    (make_id("650300", "19600302", "124"), "valid", make_id("650300", "19600302", "124")),
    (with_candidates(2), "bad_check_digit", None),  # two swaps would do: none is suspected
    (with_candidates(1), "transposition_suspected", None),
    ("990106850302124", "unknown_region", None),
    ("4.10102E+17", "excel_mangled", None),  # id_excel_numeric
    ("4.10102199001011E+17", "excel_mangled", None),
    ("4.10102199001011e+17", "excel_mangled", None),
    ("410102199001011000.0", "excel_mangled", None),
    ("410102199001011000", "excel_mangled", None),  # 15 significant digits shown in full
    ("330106198503021000", "excel_mangled", None),
    ("3301X6198503021240", "bad_chars", None),
    ("33010619850302124A", "bad_chars", None),
    ("无", "bad_chars", None),
    ("33010619850302", "bad_length", None),
    (WOMAN + "1", "bad_length", None),
]


@pytest.mark.parametrize(("raw", "status", "canonical"), CASES)
def test_check_id_number(raw: str | None, status: str, canonical: str | None) -> None:
    got = check_id_number(raw, today=TODAY)
    assert (got.status, got.canonical) == (status, canonical)
    assert got.usable is (canonical is not None)
    assert got.raw == raw
    assert got.status in STATUSES


def test_cleaned_form_is_folded_and_uppercase() -> None:
    got = check_id_number(" " + MAN_X[:-1].translate(FULLWIDTH) + "x ", today=TODAY)
    assert got.cleaned == MAN_X


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",
        "110105 19491231002X",
        "１１０１０５19491231002X",
        "110105\u300019491231002X",
        "\t110105194912310021\n",
        "4.10102E+17",
        "ab-12",
        "",
        "Ⅻ12",
    ],
)
def test_the_ascii_fast_path_cleans_like_the_general_one(raw: str) -> None:
    assert clean_id_number(raw) == strip_spaces(raw).upper()


def test_check_char_is_mod_11_2_over_exactly_17_digits() -> None:
    body = "11010519491231002"
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(body))  # ISO 7064 weights
    assert check_char(body) == "10X98765432"[total % 11] == "X"
    with pytest.raises(ValueError):
        check_char(body[:16])


def test_a_wrong_check_digit_is_never_corrected() -> None:
    """Every wrong check character of a valid number is refused, whatever it is called."""
    for c in "0123456789X":
        if c == WOMAN[17]:
            continue
        got = check_id_number(WOMAN[:17] + c, today=TODAY)
        assert got.canonical is None
        assert got.status in {"bad_check_digit", "transposition_suspected"}


def test_every_adjacent_transposition_is_found_and_not_applied() -> None:
    """The swap back is always a candidate; the status is claimed only when it is the only one."""
    claimed = 0
    for i in range(16):
        if WOMAN[i] == WOMAN[i + 1]:
            continue
        dirty = swap(WOMAN, i)
        got = check_id_number(dirty, today=TODAY)
        candidates = transposition_candidates(dirty, today=TODAY)
        assert got.canonical is None
        assert WOMAN in candidates
        # a swap into an impossible date is still explained by the swap back
        assert (got.status == "transposition_suspected") is (len(candidates) == 1), (i, got)
        claimed += got.status == "transposition_suspected"
    assert claimed > 0


def test_conversion_from_15_digits_adds_19_and_the_check_character() -> None:
    got = check_id_number(OLD15, today=TODAY)
    assert got.canonical == WOMAN
    assert got.canonical[6:8] == "19"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (WOMAN, WOMAN[:6] + "********" + WOMAN[-4:]),
        (OLD15, OLD15[:6] + "*****" + OLD15[-4:]),
        (" " + WOMAN.translate(FULLWIDTH), WOMAN[:6] + "********" + WOMAN[-4:]),
        (None, ""),
        ("", ""),
        ("4.10102E+17", "4.1********"),
        ("123", "1**"),
    ],
)
def test_mask_id_number(value: str | None, masked: str) -> None:
    assert mask_id_number(value) == masked


def test_mask_never_shows_the_birth_date() -> None:
    for raw in (WOMAN, OLD15, MAN_X, "x" * 40):
        assert WOMAN[6:14] not in mask_id_number(raw)


def _near_misses(valid: str) -> list[str]:
    """Every one-character change of a valid number, and the forms a delivery gives it."""
    out = [valid[:i] + c + valid[i + 1 :] for i in range(18) for c in "0123456789X"]
    out += [valid.lower(), " " + valid, valid.translate(FULLWIDTH), valid[:17], valid + "0"]
    return out


def test_the_column_judgement_equals_one_number_at_a_time() -> None:
    """The gate's array arithmetic gives ``check_id_number(...).usable`` for every value."""
    import random

    rng = random.Random(7)
    values: list[str | None] = [None, "", "   ", OLD15, "4.10102E+17", "410102199001011000"]
    for born in (
        "19000229",
        "20000229",
        "19960229",
        "19970229",
        "18791231",
        "18800101",
        "20261101",
        "20261102",
        "19851301",
        "19850100",
        "19850431",
        "19850430",
    ):
        values.append(make_id("330106", born, "124"))
    for valid in (WOMAN, MAN_X, FLOATING, HISTORIC, make_id("330100", "19850302", "124")):
        values += _near_misses(valid)
    for _ in range(2000):  # random digits: mostly bad regions, dates and check characters
        values.append(
            "".join(rng.choice("0123456789") for _ in range(17)) + rng.choice("0123456789Xx")
        )
    regions = sorted(id_region_codes())[:: max(1, len(id_region_codes()) // 200)]
    regions += ["330000", "330100", "990101"]  # a province, a prefecture, no such province
    for _ in range(2000):  # real regions, any day, any check character: every outcome
        born = f"{rng.randint(1870, 2030)}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}"
        body = rng.choice(regions) + born + f"{rng.randint(0, 999):03d}"
        values.append(body + rng.choice([check_char(body)] * 5 + list("0123456789Xx")))
    expected = [check_id_number(v, today=TODAY).usable for v in values]
    assert id_numbers_usable(values, TODAY) == expected
    assert any(expected) and not all(expected)
    assert id_numbers_usable([], TODAY) == []
