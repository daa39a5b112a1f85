"""Which raw values an incremental standardisation run must (re)compute."""

from __future__ import annotations

import duckdb
from siheyuan.standardise.incremental import pending, std_version


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


def test_new_and_stale_values_are_pending() -> None:
    con = _session()
    assert pending(con, "t", ["k"], ["a", "b", "c", "d"]) == ["c", "d"]


def test_recheck_recomputes_current_rows_that_may_have_changed() -> None:
    con = _session()
    got = pending(con, "t", ["k"], ["a", "b", "c"], recheck="status = 'bad_birth_date'")
    assert got == ["b", "c"]


def test_composite_keys_compare_as_tuples() -> None:
    con = _session()
    assert pending(con, "t", ["k", "s"], [("a", "x"), ("a", "y")]) == [("a", "y")]


def test_a_table_made_before_versions_is_all_stale() -> None:
    con = _session(with_version=False)
    assert pending(con, "t", ["k"], ["a", "b"]) == ["a", "b"]


def test_version_is_stable_and_short() -> None:
    assert std_version() == std_version() and len(std_version()) == 16
