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
    COMPOUND_ELSEWHERE,
    COMPOUND_UNCONFIRMED,
    NO_COMPOUND,
    OK,
    OK_COMPOUND_INFERRED,
    OK_ROAD_INFERRED,
    PLACED,
    ROAD_CONFLICT,
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


def test_compound_never_written_after_its_road_is_not_placed() -> None:
    """No address of the run confirms the compound: a typo or a mis-read name, not a building."""
    got = by_text(["金都花园3幢2单元501室", "文新街道金都花园3幢2单元502室"])
    assert {(a.status, a.building_key) for a in got.values()} == {(COMPOUND_UNCONFIRMED, None)}


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


def flats(head: str, building: int, n: int, first_room: int = 101) -> list[str]:
    """``n`` distinct flats of one building written as ``head{building}幢1单元{room}室``."""
    return [f"{head}{building}幢1单元{first_room + i}室" for i in range(n)]


def test_same_compound_name_at_two_roads_is_never_merged_or_guessed() -> None:
    ours = flats("浙江省杭州市西湖区文新街道学院路77号金都花园", 3, 3)
    other = flats("浙江省杭州市西湖区翠苑街道文三路5号金都花园", 3, 3, first_room=201)
    short = "金都花园3幢1单元101室"
    got = by_text([*ours, *other, short])
    assert {got[t].building_key for t in ours} == {"西湖区|学院路77号金都花园|3"}
    assert {got[t].building_key for t in other} == {"西湖区|文三路5号金都花园|3"}
    assert (got[short].status, got[short].building_key) == (COMPOUND_AMBIGUOUS, None)


STAR = "浙江省杭州市西湖区文新街道学院路{n}号星洲花园"

# (texts naming each road number of 星洲花园, expected key of the compound-only addresses, and
# the status of the full forms at each number): a road is believed with >= road_min_texts
# distinct texts and >= road_min_share of the compound's
ROAD_SUPPORT = [
    ({77: 20}, "西湖区|星洲花园|{b}", {77: OK}),
    # one mistyped road number moves nothing and is flagged
    ({77: 20, 78: 1}, "西湖区|星洲花园|{b}", {77: OK, 78: ROAD_CONFLICT}),
    ({77: 20, 78: 2}, "西湖区|星洲花园|{b}", {77: OK, 78: ROAD_CONFLICT}),
    # three texts, but under 5 % of the compound's: still a typo
    ({77: 60, 78: 3}, "西湖区|星洲花园|{b}", {77: OK, 78: ROAD_CONFLICT}),
    # both roads supported: two compounds of one name, the road in the key, short forms unplaced
    ({77: 20, 78: 3}, None, {77: OK, 78: OK}),
    # neither road supported: no telling the typo from the truth
    ({77: 1, 78: 1}, None, {77: ROAD_CONFLICT, 78: ROAD_CONFLICT}),
]


@pytest.mark.parametrize(("support", "short_key", "full_status"), ROAD_SUPPORT)
def test_a_road_needs_support_before_it_moves_a_compound(
    support: dict[int, int], short_key: str | None, full_status: dict[int, str]
) -> None:
    full: dict[str, int] = {}
    for n, count in support.items():
        for i in range(count):  # distinct flats spread over buildings 1 and 2
            full[f"{STAR.format(n=n)}{1 + i % 2}幢{1 + n % 2}单元{101 + i}室"] = n
    short = {f"星洲花园{b}幢2单元{301 + i}室": b for b in (1, 2) for i in range(10)}
    got = by_text([*full, *short])
    for t, n in full.items():
        a = got[t]
        assert a.status == full_status[n], (t, a.status)
        if a.status == OK:
            two = len([s for s in full_status.values() if s == OK]) > 1
            compound = f"学院路{n}号星洲花园" if two else "星洲花园"
            assert a.building_key == f"西湖区|{compound}|{a.building_no}"
        else:
            assert a.building_key is None
    for t, b in short.items():
        a = got[t]
        if short_key is None:
            assert (a.status, a.building_key) == (COMPOUND_AMBIGUOUS, None)
        else:
            assert (a.status, a.building_key) == (OK_ROAD_INFERRED, short_key.format(b=b))
            assert (a.road, a.road_number) == ("学院路", "77")


def test_a_road_number_in_conflict_teaches_no_compound() -> None:
    """The typo 学院路78号星洲花园 does not make 学院路78号 the gate of 星洲花园."""
    texts = [*flats(STAR.format(n=77), 1, 5), STAR.format(n=78) + "2幢1单元101室"]
    got = by_text([*texts, "学院路78号2幢1单元102室", "学院路77号2幢1单元102室"])
    assert got["学院路78号2幢1单元102室"].status == NO_COMPOUND
    assert got["学院路77号2幢1单元102室"].building_key == "西湖区|星洲花园|2"


def test_street_and_community_filled_only_when_the_run_agrees() -> None:
    texts = [
        FULL,
        "浙江省杭州市西湖区文新街道德加社区学院路77号金都花园4幢1单元101室",
        "金都花园5幢1单元101室",
    ]
    a = by_text(texts)["金都花园5幢1单元101室"]
    assert a.street == "文新街道"
    assert a.community is None  # two communities written for the compound: no vote


def test_elsewhere_teaches_no_road_and_is_not_placed() -> None:
    far = "江西省南昌市西湖区朝阳洲街道学院路9号金都花园3幢1单元101室"
    got = by_text([far, "金都花园3幢1单元101室"])
    assert got[far].building_key is None
    short = got["金都花园3幢1单元101室"]
    assert (short.status, short.road, short.building_key) == (COMPOUND_ELSEWHERE, None, None)


def test_table_columns_and_statuses_match_the_dbt_model() -> None:
    df = address_table([FULL, "金都花园3-501", "安徽省阜阳市临泉县城关镇张庄村12号"], HOME)
    assert df.column_names == list(TABLE_COLUMNS)
    assert [k is not None for k in df.column("building_key").to_pylist()] == [True, False, False]
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
    full = "学院路77号金都花园二期3幢2单元101室"
    got = by_text([full, "金都花园二期3幢1单元101室", "金都花园二期三号楼1单元101室"])
    assert {a.building_key for a in got.values()} == {"西湖区|金都花园二期|3"}
    assert got["金都花园二期3幢1单元101室"].compound == "金都花园二期"


# Where the compound of a compound-only address is written in full decides whether it is
# placed: (other texts of the run, status of 金都花园3幢2单元201室, its key)
WHERE_WRITTEN = [
    ([], COMPOUND_UNCONFIRMED, None),
    (["浙江省杭州市余杭区五常街道文一西路9号金都花园3幢1单元101室"], COMPOUND_ELSEWHERE, None),
    (["余杭金都花园3幢1单元101室"], COMPOUND_ELSEWHERE, None),
    (["江西省南昌市西湖区朝阳洲街道金都花园3-1-101"], COMPOUND_ELSEWHERE, None),
    # written in full at home too: home it is (an address naming no district is home)
    (["浙江省杭州市余杭区五常街道文一西路9号金都花园3幢1单元101室", FULL], OK_ROAD_INFERRED,
     "西湖区|金都花园|3"),
    ([FULL], OK_ROAD_INFERRED, "西湖区|金都花园|3"),
]  # fmt: skip


@pytest.mark.parametrize(("others", "status", "key"), WHERE_WRITTEN)
def test_a_compound_only_address_needs_a_home_full_form(
    others: list[str], status: str, key: str | None
) -> None:
    a = by_text([*others, "金都花园3幢2单元201室"])["金都花园3幢2单元201室"]
    assert (a.status, a.building_key) == (status, key)


def test_a_registered_address_teaches_only_names_written_elsewhere() -> None:
    """户籍地 texts that are nobody's current address: a home-looking one confirms nothing."""
    short = "金都花园3幢2单元201室"
    got = {a.address: a for a in standardise_addresses([short], HOME, reference=[FULL])}
    assert (got[short].status, got[FULL].status) == (COMPOUND_UNCONFIRMED, OK)
    far = "浙江省杭州市余杭区五常街道文一西路9号金都花园3幢1单元101室"
    got = {a.address: a for a in standardise_addresses([short], HOME, reference=[far])}
    assert got[short].status == COMPOUND_ELSEWHERE


@pytest.mark.parametrize("lead", ["杭州", "浙江"])
def test_a_compound_named_after_a_place_is_placed_once_the_run_writes_it_after_its_road(
    lead: str,
) -> None:
    name = f"{lead}花园"
    short = f"{name}3幢1单元101室"
    alone = by_text([short])[short]
    assert (alone.status, alone.building_key) == ("compound_unclear", None)
    got = by_text([f"西湖区文新街道学院路77号{name}3幢2单元501室", short])
    assert (got[short].status, got[short].building_key) == (OK_ROAD_INFERRED, f"西湖区|{name}|3")
    # 杭州金都花园 is not 金都花园 written with its city: it stays unplaced
    texts = [FULL, f"{lead}金都花园3幢1单元101室"]
    assert by_text(texts)[texts[1]].building_key is None
