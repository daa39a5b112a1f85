"""The address value cache: cached parts place exactly as a fresh parse, and go stale on change."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest
from siheyuan.standardise.address import Home, parse_address
from siheyuan.standardise.address_cache import (
    PARSE_FIELDS,
    address_version,
    parts_from_table,
    parts_table,
)
from siheyuan.standardise.address_gazetteer import place_all, standardise_addresses, table_of
from siheyuan.standardise.incremental import pending, std_version

HOME = Home("浙江省", "杭州市", "西湖区")
FULL = "浙江省杭州市西湖区文新街道丰潭社区学院路77号金都花园3幢2单元501室"
# one text per parse outcome the gazetteer treats differently
TEXTS = [
    FULL,
    "金都花园三号楼1单元302室",  # compound only: placed from FULL
    "学院路77号5幢1单元101室",  # road only: compound from FULL
    "金都花园3-1-302",  # shorthand
    "金都花园3-501",  # shorthand_ambiguous
    "杭州花园3幢1单元101室",  # compound_unclear (admin lead), doubt set
    "学院路77号",  # no_building
    "浙江省杭州市余杭区五常街道文一西路9号金都花园3幢1单元101室",  # elsewhere
    "  ",  # empty
]
REGISTERED = [
    "安徽省阜阳市临泉县城关镇张庄村12号",
    "浙江省杭州市西湖区学院路78号金都花园3幢1单元101室",
]


def test_parts_survive_the_table_round_trip() -> None:
    table = parts_table(TEXTS, HOME)
    assert table.column("std_version").to_pylist() == [address_version(HOME)] * len(TEXTS)
    back = parts_from_table(table)
    assert [dataclasses.asdict(a) for a in back] == [
        dataclasses.asdict(parse_address(t, HOME)) for t in TEXTS
    ]
    assert {a.status for a in back} >= {"parsed", "elsewhere", "empty", "no_building"}
    assert any(a.doubt for a in back)  # the field stored after building_form, not inference


def test_cached_parts_place_as_a_fresh_parse_through_duckdb() -> None:
    """What int_addresses does (parts read back from the warehouse) equals parsing afresh."""
    con = duckdb.connect()
    cached = parts_table([*TEXTS, *REGISTERED], HOME)
    con.register("cached", cached)
    rel = con.table("cached")

    def read(texts: list[str]) -> list:
        wanted = con.sql("select unnest(?) as address_raw", params=[texts])
        rows = rel.join(wanted, "address_raw", how="semi").order("address_raw")
        return parts_from_table(rows.to_arrow_table())

    fresh = standardise_addresses(sorted(TEXTS), HOME, sorted(REGISTERED))
    placed = place_all(read(sorted(TEXTS)), read(sorted(REGISTERED)))
    assert table_of(placed).equals(table_of(fresh))
    assert {a.status for a in placed} >= {"ok", "ok_road_inferred", "ok_compound_inferred"}


def test_the_version_covers_the_home_district_and_the_standardisers() -> None:
    other = Home("浙江省", "杭州市", "上城区")
    assert address_version(HOME) != address_version(other)
    assert address_version(HOME) != std_version()
    assert len(address_version(HOME)) == 16


def test_texts_without_a_current_row_are_pending() -> None:
    con = duckdb.connect()
    con.register("fresh", parts_table(["a1", "b2"], HOME))
    con.execute("create table t as select * from fresh")
    con.execute("update t set std_version = 'old' where address_raw = 'b2'")
    keys = con.sql("select * from (values ('a1'), ('b2'), ('c3')) v(address_raw)")
    version = address_version(HOME)
    assert pending(con, "t", ["address_raw"], keys, version=version) == ["b2", "c3"]
    # the plain standardisation version never matches an address row
    assert pending(con, "t", ["address_raw"], keys) == ["a1", "b2", "c3"]


@pytest.mark.parametrize("name", ["inference", "building_key"])
def test_the_gazetteers_fields_are_never_cached(name: str) -> None:
    assert name not in PARSE_FIELDS
    assert name not in parts_table([FULL], HOME).column_names
