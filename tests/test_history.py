"""history.record_version: type-2 history of resident, household and membership marts."""

from __future__ import annotations

import datetime

import duckdb
import pytest
from history_fixtures import (
    RESIDENT_COLUMNS,
    changes,
    history_rows,
    publish,
    resident,
)
from siheyuan.history import hash_expression, load_settings
from siheyuan.settings import ConfigurationError

D1 = datetime.date(2026, 10, 1)
D2 = datetime.date(2026, 11, 1)
D3 = datetime.date(2026, 12, 1)


@pytest.fixture
def conn():
    c = duckdb.connect()
    yield c
    c.close()


def test_first_version_opens_one_current_row_per_key(conn):
    publish(conn, 1, D1, [resident("R1"), resident("R2")])
    rows = history_rows(conn, "resident_history")
    assert [r["resident_id"] for r in rows] == ["R1", "R2"]
    for r in rows:
        assert r["valid_from"] == D1 and r["valid_to"] is None
        assert r["valid_from_version"] == 1 and r["valid_to_version"] is None
        assert r["is_current"] is True and len(r["row_hash"]) == 32
        assert r["phone_e164"] == "+8613812345678"  # every mart column is kept
    assert len(history_rows(conn, "household_history")) == 1
    members = history_rows(conn, "household_member_history")
    assert {(m["household_id"], m["resident_id"]) for m in members} == {("H1", "R1"), ("H1", "R2")}
    # nothing left behind for the Parquet export that follows on the same connection
    assert conn.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)


def test_a_changed_column_closes_the_row_and_opens_the_new_state(conn):
    publish(conn, 1, D1, [resident("R1"), resident("R2")])
    publish(conn, 2, D2, [resident("R1", phone_e164="+8613900000000"), resident("R2")])
    r1 = history_rows(conn, "resident_history", "resident_id = 'R1'")
    assert [(r["valid_from"], r["valid_to"], r["is_current"]) for r in r1] == [
        (D1, D2, False),
        (D2, None, True),
    ]
    assert [(r["valid_from_version"], r["valid_to_version"]) for r in r1] == [(1, 2), (2, None)]
    assert r1[0]["phone_e164"] == "+8613812345678" and r1[1]["phone_e164"] == "+8613900000000"
    # the unchanged resident keeps its single open row
    assert len(history_rows(conn, "resident_history", "resident_id = 'R2'")) == 1


def test_a_key_missing_from_the_mart_closes_its_row(conn):
    publish(conn, 1, D1, [resident("R1"), resident("R2")])
    publish(conn, 2, D2, [resident("R1")])
    r2 = history_rows(conn, "resident_history", "resident_id = 'R2'")
    assert [(r["valid_to"], r["valid_to_version"], r["is_current"]) for r in r2] == [(D2, 2, False)]
    member = history_rows(conn, "household_member_history", "resident_id = 'R2'")
    assert [(m["valid_to"], m["is_current"]) for m in member] == [(D2, False)]
    # the household changed too (member_count 2 → 1)
    hh = history_rows(conn, "household_history")
    assert [(h["member_count"], h["is_current"]) for h in hh] == [(2, False), (1, True)]


def test_an_unchanged_version_adds_no_rows_and_no_changes(conn):
    residents = [resident("R1"), resident("R2", status="deceased", status_date=D1)]
    publish(conn, 1, D1, residents)
    before = {t: len(history_rows(conn, t)) for t in ("resident_history", "household_history")}
    publish(conn, 2, D2, residents)
    after = {t: len(history_rows(conn, t)) for t in ("resident_history", "household_history")}
    assert before == after
    assert all(
        r["is_current"] and r["valid_from_version"] == 1
        for r in history_rows(conn, "resident_history")
    )
    assert changes(conn, 2) == []


def test_two_versions_on_one_business_date_close_with_an_empty_interval(conn):
    publish(conn, 1, D1, [resident("R1")])
    publish(conn, 2, D2, [resident("R1", name="张炜")])
    publish(conn, 3, D2, [resident("R1", name="张伟")])  # a steward's fix, same data date
    rows = history_rows(conn, "resident_history")
    assert [(r["valid_from"], r["valid_to"], r["valid_from_version"]) for r in rows] == [
        (D1, D2, 1),
        (D2, D2, 2),  # [D2, D2): superseded the same business day; versions tell them apart
        (D2, None, 3),
    ]
    on_d2 = conn.execute(
        "SELECT name FROM history.resident_history "
        "WHERE valid_from <= ?::DATE AND (?::DATE < valid_to OR valid_to IS NULL)",
        [D2, D2],
    ).fetchall()
    assert on_d2 == [("张伟",)]


def test_an_older_business_date_is_raised_to_the_last_one(conn):
    publish(conn, 1, D2, [resident("R1")])
    publish(conn, 2, D1, [resident("R1", name="张炜")])
    rows = history_rows(conn, "resident_history")
    assert [(r["valid_from"], r["valid_to"]) for r in rows] == [(D2, D2), (D2, None)]
    logged = conn.execute(
        "SELECT as_of, valid_from FROM history.recorded_version WHERE version_number = 2"
    ).fetchone()
    assert logged == (D1, D2)


def test_a_version_not_after_the_last_is_refused_and_leaves_nothing(conn):
    publish(conn, 1, D1, [resident("R1")])
    with pytest.raises(ValueError, match="not after version 1"):
        publish(conn, 1, D2, [resident("R1", name="张炜")])
    assert len(history_rows(conn, "resident_history")) == 1
    # the connection is usable afterwards (the transaction was rolled back)
    publish(conn, 2, D2, [resident("R1", name="张炜")])
    assert len(history_rows(conn, "resident_history")) == 2


def test_duplicate_mart_keys_are_refused(conn):
    with pytest.raises(ValueError, match="duplicate key"):
        publish(conn, 1, D1, [resident("R1"), resident("R1", name="李四")])
    assert conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'history'"
    ).fetchone() == (0,)


def test_a_column_added_to_the_mart_is_added_to_history(conn):
    publish(conn, 1, D1, [resident("R1"), resident("R2")])
    wider = RESIDENT_COLUMNS + ", ethnicity_code VARCHAR"
    publish(
        conn,
        2,
        D2,
        [resident("R1", ethnicity_code="01"), resident("R2", ethnicity_code=None)],
        resident_ddl=wider,
    )
    r1 = history_rows(conn, "resident_history", "resident_id = 'R1'")
    assert [(r["ethnicity_code"], r["is_current"]) for r in r1] == [(None, False), ("01", True)]
    # a NULL in the new column adds nothing to the hash: R2 did not change
    r2 = history_rows(conn, "resident_history", "resident_id = 'R2'")
    assert len(r2) == 1 and r2[0]["valid_from_version"] == 1
    # a column new in this version is not a change of anyone
    assert changes(conn, 2) == []
    # from the next version on it is compared like every other column
    publish(conn, 3, D3, [resident("R1", ethnicity_code="02"), resident("R2")], resident_ddl=wider)
    assert [(c["resident_id"], c["changed_fields"]) for c in changes(conn, 3)] == [
        ("R1", ["ethnicity_code"])
    ]


def test_a_column_dropped_from_the_mart_stays_null_in_new_rows(conn):
    publish(conn, 1, D1, [resident("R1")])
    narrower = RESIDENT_COLUMNS.replace(", phone_e164 VARCHAR", "")
    row = resident("R1")
    del row["phone_e164"]
    publish(conn, 2, D2, [row], resident_ddl=narrower)
    rows = history_rows(conn, "resident_history")
    assert [(r["phone_e164"], r["is_current"]) for r in rows] == [
        ("+8613812345678", False),
        (None, True),
    ]
    assert changes(conn, 2) == []  # a column the mart no longer has is not compared


def test_hash_ignores_column_order_and_null_columns(conn):
    def digest(cols: list[str], select: str) -> str:
        return conn.execute(f"SELECT {hash_expression(cols)} FROM ({select})").fetchone()[0]

    plain = digest(["x", "y"], "SELECT 1 AS x, 'b' AS y")
    reordered_with_null = digest(["y", "x", "z"], "SELECT 'b' AS y, 1 AS x, NULL AS z")
    one_null = digest(["x", "y"], "SELECT 1 AS x, NULL AS y")
    empty_text = digest(["x", "y"], "SELECT 1 AS x, '' AS y")
    assert plain == reordered_with_null
    assert len({plain, one_null, empty_text}) == 3  # NULL and '' are different values


def test_the_committed_settings_load_and_a_broken_file_is_one_line(tmp_path):
    settings = load_settings()
    assert settings.tables["resident"].key == ["resident_id"]
    assert "source_record_count" in settings.feed_ignored_columns
    broken = tmp_path / "history.yml"
    broken.write_text("version: 1\ntables: {}\nhukou_dataset: police_hukou\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="must include resident"):
        load_settings(broken)
