"""Which raw values an incremental standardisation run must (re)compute."""

from __future__ import annotations

from typing import Any

import duckdb
from siheyuan.standardise.incremental import distinct_keys, pending, std_version, values_of


def _session(with_version: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    if with_version:
        con.execute("create table t(k varchar, s varchar, status varchar, std_version varchar)")
        v = std_version()
        con.executemany(
            "insert into t values (?, ?, ?, ?)",
            [("a", "x", "valid", v), ("b", "x", "bad_birth_date", v), ("c", "x", "valid", "old")],
        )
    else:
        con.execute("create table t(k varchar, s varchar)")
        con.execute("insert into t values ('a', 'x')")
    return con


def _keys(con: duckdb.DuckDBPyConnection, *rows: Any, names: str = "k") -> Any:
    """A relation of candidate keys, as the dbt models build it from a model's columns."""
    rows_sql = ", ".join(
        "(" + ", ".join(f"'{v}'" for v in (r if isinstance(r, tuple) else (r,))) + ")" for r in rows
    )
    return con.sql(f"select * from (values {rows_sql}) v({names})")


def test_new_and_stale_values_are_pending() -> None:
    con = _session()
    assert pending(con, "t", ["k"], _keys(con, "a", "b", "c", "d")) == ["c", "d"]


def test_recheck_recomputes_current_rows_that_may_have_changed() -> None:
    con = _session()
    got = pending(con, "t", ["k"], _keys(con, "a", "b", "c"), recheck="status = 'bad_birth_date'")
    assert got == ["b", "c"]


def test_composite_keys_compare_as_tuples() -> None:
    con = _session()
    assert pending(con, "t", ["k", "s"], _keys(con, ("a", "x"), ("a", "y"), names="k, s")) == [
        ("a", "y")
    ]


def test_a_table_made_before_versions_is_all_stale() -> None:
    con = _session(with_version=False)
    assert pending(con, "t", ["k"], _keys(con, "a", "b")) == ["a", "b"]


def test_distinct_keys_unions_parts_without_nulls() -> None:
    con = duckdb.connect()
    a = con.sql("select * from (values ('x'), (null), ('y')) v(c)").project("c as k")
    b = con.sql("select * from (values ('y'), ('z')) v(d)").project("d as k")
    assert values_of(distinct_keys([a, b])) == ["x", "y", "z"]


def test_version_is_stable_and_short() -> None:
    assert std_version() == std_version() and len(std_version()) == 16
