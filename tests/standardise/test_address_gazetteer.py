"""Placing a run's addresses on buildings: the gazetteer, the key, and the generator's variants."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import yaml
from siheyuan.generate import geography
from siheyuan.generate.address import AddressBook, Style
from siheyuan.generate.config import world_config
from siheyuan.settings import project_root
from siheyuan.standardise.address import Home
from siheyuan.standardise.address_gazetteer import (
    COMPOUND_AMBIGUOUS,
    NO_COMPOUND,
    OK,
    OK_COMPOUND_INFERRED,
    OK_ROAD_INFERRED,
    OK_ROAD_UNKNOWN,
    PLACED,
    STATUSES,
    TABLE_COLUMNS,
    address_table,
    standardise_addresses,
)

HOME = Home("浙江省", "杭州市", "西湖区")
FULL = "浙江省杭州市西湖区文新街道丰潭社区学院路77号金都花园3幢2单元501室"


def by_text(texts: list[str]) -> dict[str, object]:
    return {a.address: a for a in standardise_addresses(texts, HOME)}


def test_compound_only_gets_the_full_forms_key_and_parts() -> None:
    short = "金都花园三号楼1单元302室"
    got = by_text([FULL, "金都花园3-1-302", short])
    assert {got[t].building_key for t in got} == {"西湖区|金都花园|3"}
    s = got[short]
    assert (s.status, s.inference) == (OK_ROAD_INFERRED, "road_inferred")
    assert (s.street, s.community, s.road, s.road_number) == (
        "文新街道",
        "丰潭社区",
        "学院路",
        "77",
    )
    assert got[FULL].status == OK


def test_compound_only_without_any_full_form_is_placed_without_a_road() -> None:
    got = by_text(["金都花园3幢2单元501室"])
    a = got["金都花园3幢2单元501室"]
    assert (a.status, a.building_key, a.road) == (OK_ROAD_UNKNOWN, "西湖区|金都花园|3", None)


def test_road_only_borrows_the_compound_at_that_number() -> None:
    got = by_text([FULL, "学院路77号3幢1单元101室", "学院路78号3幢1单元101室"])
    a = got["学院路77号3幢1单元101室"]
    assert (a.status, a.compound, a.building_key) == (
        OK_COMPOUND_INFERRED,
        "金都花园",
        "西湖区|金都花园|3",
    )
    b = got["学院路78号3幢1单元101室"]  # nothing known at number 78
    assert (b.status, b.building_key) == (NO_COMPOUND, None)


def test_same_compound_name_at_two_roads_is_never_merged_or_guessed() -> None:
    other = "浙江省杭州市西湖区翠苑街道文三路5号金都花园3幢1单元101室"
    short = "金都花园3幢1单元101室"
    got = by_text([FULL, other, short])
    assert got[FULL].building_key == "西湖区|学院路77号金都花园|3"
    assert got[other].building_key == "西湖区|文三路5号金都花园|3"
    assert (got[short].status, got[short].building_key) == (COMPOUND_AMBIGUOUS, None)


def test_street_and_community_filled_only_when_the_run_agrees() -> None:
    texts = [
        FULL,
        "浙江省杭州市西湖区文新街道德加社区学院路77号金都花园4幢1单元101室",
        "金都花园5幢1单元101室",
    ]
    a = by_text(texts)["金都花园5幢1单元101室"]
    assert a.street == "文新街道"
    assert a.community is None  # two communities written for the compound: no vote


def test_elsewhere_teaches_nothing_and_is_not_placed() -> None:
    far = "江西省南昌市西湖区朝阳洲街道学院路9号金都花园3幢1单元101室"
    got = by_text([far, "金都花园3幢1单元101室"])
    assert got[far].building_key is None
    assert got["金都花园3幢1单元101室"].status == OK_ROAD_UNKNOWN


def test_table_columns_and_statuses_match_the_dbt_model() -> None:
    df = address_table([FULL, "金都花园3-501", "安徽省阜阳市临泉县城关镇张庄村12号"], HOME)
    assert list(df.columns) == list(TABLE_COLUMNS)
    assert df["building_key"].notna().tolist() == [True, False, False]
    spec = yaml.safe_load(
        (project_root() / "models/intermediate/int_addresses.yml").read_text(encoding="utf-8")
    )
    cols = {c["name"]: c for c in spec["models"][0]["columns"]}
    tests = cols["parse_status"]["data_tests"]
    accepted = next(t for t in tests if isinstance(t, dict))["accepted_values"]["arguments"]
    assert sorted(accepted["values"]) == sorted(STATUSES)
    assert set(cols) <= set(TABLE_COLUMNS)


@pytest.fixture(scope="module")
def book() -> AddressBook:
    """A small district laid out by the generator itself (about 40 buildings, no persons)."""
    cfg = world_config()
    small = {**cfg, "district": {**cfg["district"], "persons_per_building": [3, 6]}}
    geo, _, _ = geography.build(small, np.random.default_rng(3), np.full(60, 3))
    d = cfg["district"]
    return AddressBook(geo, d["province"], d["city"], d["district"])


STYLES = [
    Style(prefix=p, numeral=n, shorthand=s, community=c)
    for p, n, s, c in itertools.product(range(6), range(5), (False, True), (False, True))
    if not (s and n)  # the shorthand has no building word
]


def test_every_generator_style_lands_on_the_true_building(book: AddressBook) -> None:
    """All 144 writing styles of every building, with dirt on top, give the building's one key."""
    n_b = len(book.b_no)
    assert n_b >= 20
    truth: dict[str, str] = {}
    for b in range(n_b):
        *_, compound = book.building_parts(b)
        key = f"西湖区|{compound}|{book.b_no[b]}"
        flat = 10000 * (1 + b % 3) + 100 * (1 + b % 11) + 1
        for i, st in enumerate(STYLES):
            text = book.styled(b, flat, st)
            if i % 7 == 0:  # full-width digits
                text = text.translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)})
            if i % 11 == 0:  # spaces inside and at the edges
                text = f" {text[:4]} {text[4:]}\u3000"
            truth[text] = key
    got = by_text(list(truth))
    wrong = {t: (got[t].status, got[t].building_key, k) for t, k in truth.items()
             if got[t].building_key != k}  # fmt: skip
    assert not wrong, list(wrong.items())[:5]
    assert {got[t].status for t in truth} <= PLACED


def test_a_numeral_in_the_compound_name_stays_in_it() -> None:
    """Phase compounds (二期) keep their numeral: 二期3幢 is building 3 of 金都花园二期."""
    got = by_text(["金都花园二期3幢1单元101室", "金都花园二期三号楼1单元101室"])
    assert {a.building_key for a in got.values()} == {"西湖区|金都花园二期|3"}
    assert got["金都花园二期3幢1单元101室"].compound == "金都花园二期"
