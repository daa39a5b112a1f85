"""Small hand-made marts for the history, change-feed and as-of tests (plain DuckDB, no dbt)."""

from __future__ import annotations

import datetime
from typing import Any

import duckdb
from siheyuan.history import record_version

RESIDENT_COLUMNS = (
    "resident_id VARCHAR, id_number VARCHAR, name VARCHAR, phone_e164 VARCHAR, "
    "household_id VARCHAR, building_id VARCHAR, status VARCHAR, status_date DATE, "
    "source_record_count BIGINT, source_datasets VARCHAR"
)
HOUSEHOLD_COLUMNS = (
    "household_id VARCHAR, hukou_number VARCHAR, head_resident_id VARCHAR, building_id VARCHAR, "
    "member_count BIGINT, address VARCHAR"
)
MEMBER_COLUMNS = "household_id VARCHAR, resident_id VARCHAR, relation_code VARCHAR"
EVENT_COLUMNS = (
    "old_resident_id VARCHAR, new_resident_id VARCHAR, event VARCHAR, record_count INTEGER, "
    "reason VARCHAR"
)


def resident(rid: str, **values: Any) -> dict[str, Any]:
    """A resident row: active in building B1, household H1, known to police hukou."""
    row = {
        "resident_id": rid,
        "id_number": "33010619900101123X",
        "name": "张伟",
        "phone_e164": "+8613812345678",
        "household_id": "H1",
        "building_id": "B1",
        "status": "active",
        "status_date": None,
        "source_record_count": 2,
        "source_datasets": "health_records,police_hukou",
    }
    row.update(values)
    return row


def _replace(conn: duckdb.DuckDBPyConnection, table: str, ddl: str, rows: list[dict]) -> None:
    conn.execute(f"CREATE OR REPLACE TABLE {table} ({ddl})")
    if not rows:
        return
    names = list(rows[0])
    holes = ", ".join("?" for _ in names)
    conn.executemany(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({holes})",
        [[r.get(n) for n in names] for r in rows],
    )


def publish(
    conn: duckdb.DuckDBPyConnection,
    version: int,
    as_of: datetime.date,
    residents: list[dict[str, Any]],
    *,
    households: list[dict[str, Any]] | None = None,
    members: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    resident_ddl: str = RESIDENT_COLUMNS,
) -> None:
    """Write the marts as a dbt build would, then record the version as publish does.

    Households and members default to one household H1 holding every resident in it.
    """
    conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
    _replace(conn, "marts.resident", resident_ddl, residents)
    if households is None:
        households = [
            {
                "household_id": "H1",
                "hukou_number": "000001",
                "head_resident_id": residents[0]["resident_id"] if residents else None,
                "building_id": "B1",
                "member_count": sum(r.get("household_id") == "H1" for r in residents),
                "address": "浙江省杭州市西湖区学院路77号1幢",
            }
        ]
    if members is None:
        members = [
            {"household_id": "H1", "resident_id": r["resident_id"], "relation_code": "02"}
            for r in residents
            if r.get("household_id") == "H1"
        ]
    _replace(conn, "marts.household", HOUSEHOLD_COLUMNS, households)
    _replace(conn, "marts.household_member", MEMBER_COLUMNS, members)
    if events is None:
        conn.execute("DROP TABLE IF EXISTS marts.resident_id_event")
    else:
        _replace(conn, "marts.resident_id_event", EVENT_COLUMNS, events)
    record_version(conn, version, as_of)


def changes(conn: duckdb.DuckDBPyConnection, version: int) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT * FROM history.resident_change WHERE version_number = ? "
        "ORDER BY resident_id, change_kind",
        [version],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def kinds(conn: duckdb.DuckDBPyConnection, version: int) -> set[tuple[str, str]]:
    return {(c["resident_id"], c["change_kind"]) for c in changes(conn, version)}


def history_rows(conn: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> list[dict]:
    cur = conn.execute(
        f"SELECT * FROM history.{table} WHERE {where} ORDER BY valid_from_version, 1, 2"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
