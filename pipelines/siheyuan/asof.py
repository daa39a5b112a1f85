"""``siheyuan asof DATE``: the residents, households and buildings as they were on a date.

Answers from the history tables (:mod:`siheyuan.history`) of the live warehouse, read from a
private snapshot like every other read command. A row was the published state on ``day`` when
``valid_from <= day < valid_to`` (``valid_to`` NULL: still current); when two versions share a
business date the later one is the state of that day. ID numbers and phones are masked, as
everywhere the hub shows a person. The same questions on the published Parquet are in
docs/history.md.
"""

from __future__ import annotations

import datetime
from typing import Any

import duckdb

from siheyuan.quality.privacy import mask_phone
from siheyuan.report import snapshot_connection
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import table_exists

# What the command shows of a resident (a fixed list: a column a later version adds to the
# mart is not printed until it is added here, so nothing sensitive appears by accident).
RESIDENT_FIELDS = (
    "resident_id",
    "name",
    "sex_code",
    "birth_date",
    "id_number",
    "phone_e164",
    "status",
    "status_date",
    "household_id",
    "building_id",
    "residence_unit_no",
    "residence_room_no",
)
MASKED_FIELDS = ("id_number", "phone_e164")
INTERVAL_FIELDS = ("valid_from", "valid_to", "valid_from_version", "valid_to_version")
HOUSEHOLD_FIELDS = ("household_id", "hukou_number", "head_resident_id", "building_id", "address")


def valid_on(alias: str) -> str:
    """The SQL condition 'this history row was the published state on $day'."""
    return f"{alias}.valid_from <= $day AND ($day < {alias}.valid_to OR {alias}.valid_to IS NULL)"


def _present(conn: duckdb.DuckDBPyConnection, table: str, wanted: tuple[str, ...]) -> list[str]:
    have = {
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'history' AND table_name = ?",
            [table],
        ).fetchall()
    }
    return [c for c in wanted if c in have]


def _fetch(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _mask_id_region_only(value: str) -> str:
    """``330106************``: only the region. The usual ``330106********1234`` hides exactly
    the eight birth-date digits, and the birth date is printed beside it: together they would
    be the whole number."""
    return value[:6] + "*" * (len(value) - 6)


# by field, not by pattern: an E.164 landline (+86571…) matches no phone pattern in free text
_MASKS = {"id_number": _mask_id_region_only, "phone_e164": mask_phone}


def _masked(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in row.items():
        if name in MASKED_FIELDS and value is not None:
            value = _MASKS[name](str(value))
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        out[name] = value
    return out


def _resident_columns(
    conn: duckdb.DuckDBPyConnection, alias: str = "r", skip: tuple[str, ...] = ()
) -> str:
    cols = _present(conn, "resident_history", RESIDENT_FIELDS + INTERVAL_FIELDS)
    return ", ".join(f'{alias}."{c}"' for c in cols if c not in skip)


def history_span(conn: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The first and last business date and version history has recorded."""
    row = conn.execute(
        "SELECT min(valid_from), max(valid_from), max(version_number) FROM history.recorded_version"
    ).fetchone()
    first, last, version = row if row else (None, None, None)
    return {
        "first_date": first.isoformat() if first else None,
        "last_date": last.isoformat() if last else None,
        "last_version": version,
    }


def building_residents(
    conn: duckdb.DuckDBPyConnection, building_id: str, day: datetime.date
) -> list[dict[str, Any]]:
    """Who lived in the building on ``day``: active residents whose building_id was it."""
    rows = _fetch(
        conn,
        f"SELECT {_resident_columns(conn)} FROM history.resident_history AS r "
        f"WHERE r.building_id = $building AND r.status = 'active' AND {valid_on('r')} "
        "ORDER BY r.household_id NULLS LAST, r.resident_id",
        {"building": building_id, "day": day},
    )
    return [_masked(r) for r in rows]


def resident_on(
    conn: duckdb.DuckDBPyConnection, resident_id: str, day: datetime.date
) -> dict[str, Any]:
    """The resident's published row on ``day``; when there is none, why (merged, not yet)."""
    rows = _fetch(
        conn,
        f"SELECT {_resident_columns(conn)} FROM history.resident_history AS r "
        f"WHERE r.resident_id = $id AND {valid_on('r')}",
        {"id": resident_id, "day": day},
    )
    if rows:
        return {"resident": _masked(rows[0]), "note": None}
    span = _fetch(
        conn,
        "SELECT min(valid_from) AS first_seen, max(coalesce(valid_to, DATE '9999-12-31')) "
        "AS last_seen FROM history.resident_history WHERE resident_id = $id",
        {"id": resident_id},
    )[0]
    if span["first_seen"] is None:
        note = f"{resident_id} is not in the history"
    elif day < span["first_seen"]:
        note = f"{resident_id} was first published on {span['first_seen'].isoformat()}"
    else:
        note = f"{resident_id} was no longer published on {day.isoformat()}"
        merged = _fetch(
            conn,
            "SELECT related_resident_id, version_number, as_of FROM history.resident_change "
            "WHERE resident_id = $id AND change_kind = 'merged' AND as_of <= $day "
            "ORDER BY version_number DESC LIMIT 1",
            {"id": resident_id, "day": day},
        )
        if merged:
            m = merged[0]
            note = (
                f"{resident_id} was merged into {m['related_resident_id']} in version "
                f"{m['version_number']} ({m['as_of'].isoformat()})"
            )
    return {"resident": None, "note": note}


def household_on(
    conn: duckdb.DuckDBPyConnection, household_id: str, day: datetime.date
) -> dict[str, Any]:
    """The household's row on ``day`` and its members then (each as they were that day)."""
    hh_cols = _present(conn, "household_history", HOUSEHOLD_FIELDS + INTERVAL_FIELDS)
    household = _fetch(
        conn,
        f"SELECT {', '.join(f'h.{c}' for c in hh_cols)} FROM history.household_history AS h "
        f"WHERE h.household_id = $id AND {valid_on('h')}",
        {"id": household_id, "day": day},
    )
    relation = _present(conn, "household_member_history", ("relation_code", "relation_name"))
    members = _fetch(
        conn,
        f"SELECT {', '.join(f'm.{c}' for c in ('resident_id', *relation))}, "
        f"{_resident_columns(conn, skip=('resident_id',))} "
        "FROM history.household_member_history AS m "
        "LEFT JOIN history.resident_history AS r "
        f"ON r.resident_id = m.resident_id AND {valid_on('r')} "
        f"WHERE m.household_id = $id AND {valid_on('m')} "
        "ORDER BY m.relation_code NULLS LAST, m.resident_id",
        {"id": household_id, "day": day},
    )
    return {
        "household": _masked(household[0]) if household else None,
        "members": [_masked(m) for m in members],
    }


def asof(
    layout: WarehouseLayout,
    day: datetime.date,
    *,
    building_id: str | None = None,
    resident_id: str | None = None,
    household_id: str | None = None,
) -> dict[str, Any]:
    """Everything asked for, on ``day``, from a snapshot of the live warehouse."""
    with snapshot_connection(layout) as conn:
        if conn is None or not table_exists(conn, "history", "resident_history"):
            raise FileNotFoundError(
                f"no history in {layout.root}: it is recorded from the first publish on"
            )
        return query(
            conn, day, building_id=building_id, resident_id=resident_id, household_id=household_id
        )


def query(
    conn: duckdb.DuckDBPyConnection,
    day: datetime.date,
    *,
    building_id: str | None = None,
    resident_id: str | None = None,
    household_id: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"date": day.isoformat(), "history": history_span(conn)}
    if building_id is not None:
        out["building"] = {
            "building_id": building_id,
            "residents": building_residents(conn, building_id, day),
        }
    if resident_id is not None:
        out["resident"] = resident_on(conn, resident_id, day)
    if household_id is not None:
        out["household"] = {"household_id": household_id, **household_on(conn, household_id, day)}
    return out


def _interval(row: dict[str, Any]) -> str:
    """``[2026-10-01, 2026-11-01) v1-v2``: the half-open interval the row was published in."""
    until = row.get("valid_to") or "…"
    versions = f"v{row.get('valid_from_version')}-" + (
        f"v{row['valid_to_version']}" if row.get("valid_to_version") else "now"
    )
    return f"[{row.get('valid_from')}, {until}) {versions}"


def _person(row: dict[str, Any]) -> str:
    def show(name: str) -> str:
        return str(row.get(name) or "-")

    return (
        f"{row['resident_id']}  {show('name')}  sex {show('sex_code')}  born {show('birth_date')}  "
        f"ID {show('id_number')}  phone {show('phone_e164')}  {show('status')}  "
        f"household {show('household_id')}  building {show('building_id')}  {_interval(row)}"
    )


def format_text(result: dict[str, Any]) -> str:
    """The answer as a community worker reads it on a terminal."""
    span = result["history"]
    lines = [
        f"as of {result['date']} (history from {span['first_date']} to {span['last_date']}, "
        f"last version {span['last_version']})"
    ]
    if span["first_date"] and result["date"] < span["first_date"]:
        lines.append("  the date is before the first recorded version: nothing was published yet")
    if "building" in result:
        b = result["building"]
        lines += ["", f"building {b['building_id']}: {len(b['residents'])} resident(s) lived there"]
        lines += [f"  {_person(r)}" for r in b["residents"]]
    if "resident" in result:
        r = result["resident"]
        lines.append("")
        lines.append(f"resident: {_person(r['resident']) if r['resident'] else r['note']}")
    if "household" in result:
        h = result["household"]
        lines.append("")
        if h["household"] is None:
            lines.append(f"household {h['household_id']}: not published on that date")
        else:
            hh = h["household"]
            lines.append(
                f"household {hh['household_id']} (户号 {hh.get('hukou_number')}), head "
                f"{hh.get('head_resident_id')}, building {hh.get('building_id')}  {_interval(hh)}"
            )
        for m in h["members"]:
            relation = m.get("relation_name") or m.get("relation_code") or "-"
            who = _person(m) if m.get("valid_from") else m["resident_id"]
            lines.append(f"  {relation}  {who}")
    return "\n".join(lines)
