"""The data steward's review queue: list the pairs entity resolution could not decide, and record
a decision (must-link or cannot-link, who, why) that every later run applies.

Why decisions live in ``meta.link_decision`` and name records by dataset and keyed hash: the
queue is rebuilt on every run (new data, a re-trained model), but a decision is about two source
records, and those keep their (dataset, key) for life. So a re-run or a re-train never loses a
decision, and a decided pair is not queued again. The latest decision for a pair wins; earlier
ones stay as the audit trail. Records shown to the steward have their ID numbers and phones
masked; names, birth dates and buildings are what a steward decides on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from siheyuan.quality.privacy import mask_text
from siheyuan.report import snapshot_connection
from siheyuan.runlock import RunLock
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import (
    connect,
    ensure_meta,
    key_hash,
    recorded_since_last_publish,
    table_exists,
    warehouse_id_key,
)

DECISIONS = ("must_link", "cannot_link")

#: What a steward sees of each record (values are masked where sensitive).
_RECORD_SQL = """
select
    r.source_dataset, r.source_key, r.name, r.birth_date, r.birth_month, r.sex_code,
    r.id_number_status, r.id_number_cleaned, r.phone_e164, r.address, r.record_status,
    r.resident_id, r.link_rule
from intermediate.int_resident_records as r
where r.source_dataset = ? and r.source_key = ?
"""


@dataclass(frozen=True)
class RecordRef:
    dataset: str
    key: str


def parse_record(text: str) -> RecordRef:
    """``dataset:key`` as a steward types it (keys may contain ``:``; datasets do not)."""
    dataset, sep, key = text.partition(":")
    if not sep or not dataset or not key:
        raise ValueError(f"{mask_text(text)!r}: name a record as DATASET:KEY")
    return RecordRef(dataset.strip(), key.strip())


def describe_record(row: dict[str, Any]) -> dict[str, Any]:
    """A record as shown to a steward: sensitive values masked."""
    born = row.get("birth_date") or row.get("birth_month")
    return {
        "dataset": row["source_dataset"],
        "source_key": mask_text(row["source_key"]),
        "name": row.get("name"),
        "birth_date": born.isoformat() if born else None,
        "sex_code": row.get("sex_code"),
        "id_number": mask_text(row.get("id_number_cleaned"))
        if row.get("id_number_cleaned")
        else None,
        "id_number_status": row.get("id_number_status"),
        "phone": mask_text(row.get("phone_e164")) if row.get("phone_e164") else None,
        "address": row.get("address"),
        "record_status": row.get("record_status"),
        "resident_id": row.get("resident_id"),
        "link_rule": row.get("link_rule"),
    }


def fetch_dicts(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _record(conn: duckdb.DuckDBPyConnection, dataset: str, key: str) -> dict[str, Any] | None:
    rows = fetch_dicts(conn, _RECORD_SQL, [dataset, key])
    return describe_record(rows[0]) if rows else None


def queue(layout: WarehouseLayout, reason: str | None = None, limit: int | None = None) -> list:
    """The open review items, strongest pairs first, each with both records described."""
    with snapshot_connection(layout) as conn:
        if conn is None or not table_exists(conn, "marts", "review_queue"):
            raise FileNotFoundError(f"no review queue in {layout.root}: run siheyuan run first")
        sql = "select * from marts.review_queue"
        params: list[Any] = []
        if reason:
            sql += " where reason = ?"
            params.append(reason)
        sql += " order by match_weight desc nulls last, pair_id"
        if limit:
            sql += f" limit {int(limit)}"
        items = []
        for row in fetch_dicts(conn, sql, params):
            weights = {
                k.removeprefix("mw_"): round(v, 3)
                for k, v in row.items()
                if k.startswith("mw_") and v is not None
            }
            items.append(
                {
                    "pair_id": row["pair_id"],
                    "reason": row["reason"],
                    "match_weight": _round(row["match_weight"]),
                    "match_probability": _round(row.get("match_probability"), 6),
                    "comparison_weights": weights,
                    "left": _record(conn, row["left_dataset"], row["left_key"]),
                    "right": _record(conn, row["right_dataset"], row["right_key"]),
                }
            )
        return items


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass(frozen=True)
class LinkDecision:
    pair_id: str
    left_dataset: str
    right_dataset: str
    decision: str
    decided_by: str
    decided_at: datetime
    reason: str


def decide(
    layout: WarehouseLayout,
    decision: str,
    decided_by: str,
    reason: str,
    *,
    pair_id: str | None = None,
    records: tuple[RecordRef, RecordRef] | None = None,
) -> LinkDecision:
    """Record a steward's decision on a queued pair, or on any two records (DATASET:KEY).

    Raises ``ValueError`` (one line) for an unknown pair or record, a must-link of two records
    with different valid ID numbers (they are two people by construction; correct the ID at the
    source instead), a decision equal to the pair's current one, or missing who/why.
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    if not decided_by.strip() or not reason.strip():
        raise ValueError("a decision needs who makes it (--by) and why (--reason)")
    if (pair_id is None) == (records is None):
        raise ValueError("name either a queued pair (--pair) or two records (--left/--right)")
    if not layout.database.exists():
        raise ValueError(f"no warehouse at {layout.root}")
    with RunLock(layout.lock_file), connect(layout.database) as conn:
        ensure_meta(conn)
        if not table_exists(conn, "intermediate", "int_person_link_features"):
            raise ValueError(f"no linked records in {layout.root}: run siheyuan run first")
        if pair_id is not None:
            row = conn.execute(
                "select left_dataset, left_key, right_dataset, right_key "
                "from marts.review_queue where pair_id = ?",
                [pair_id],
            ).fetchall()
            if not row:
                raise ValueError(f"{pair_id}: no such pair in the review queue")
            refs = (RecordRef(row[0][0], row[0][1]), RecordRef(row[0][2], row[0][3]))
        else:
            refs = records  # type: ignore[assignment]
        found = []
        for ref in refs:
            hit = conn.execute(
                "select source_key_hash, id_number from intermediate.int_person_link_features "
                "where source_dataset = ? and source_key = ?",
                [ref.dataset, ref.key],
            ).fetchall()
            if not hit:
                raise ValueError(f"{ref.dataset}:{mask_text(ref.key)}: no such record")
            found.append((ref.dataset, hit[0][0], hit[0][1]))
        (ld, lh, lid), (rd, rh, rid) = sorted(found)
        if (ld, lh) == (rd, rh):
            raise ValueError("a record cannot be decided against itself")
        if decision == "must_link" and lid and rid and lid != rid:
            raise ValueError(
                "these records carry two different valid ID numbers: they cannot be one person; "
                "correct the wrong number at its source department instead"
            )
        pid = conn.execute(
            "select 'P' || left(sha256(least(?, ?) || '|' || greatest(?, ?)), 16)",
            [f"{ld}:{lh}", f"{rd}:{rh}", f"{ld}:{lh}", f"{rd}:{rh}"],
        ).fetchall()[0][0]
        current = conn.execute(
            "select decision from meta.link_decision where pair_id = ? "
            "order by decided_at desc limit 1",
            [pid],
        ).fetchall()
        if current and current[0][0] == decision:
            raise ValueError(f"{pid}: already decided {decision}")
        made = LinkDecision(
            pid,
            ld,
            rd,
            decision,
            mask_text(decided_by.strip()) or "",
            datetime.now(UTC).replace(tzinfo=None),
            mask_text(reason.strip()) or "",
        )
        conn.execute(
            "insert into meta.link_decision (pair_id, left_dataset, left_key_hash, right_dataset, "
            "right_key_hash, decision, decided_by, decided_at, reason) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [pid, ld, lh, rd, rh, decision, made.decided_by, made.decided_at, made.reason],
        )
        conn.execute("CHECKPOINT")
    return made


def decisions_for(
    conn: duckdb.DuckDBPyConnection, records: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Every decision (history included) touching any of ``records`` ((dataset, key) pairs)."""
    if not records or not table_exists(conn, "meta", "link_decision"):
        return []
    id_key = warehouse_id_key(conn)
    hashes = [(d, key_hash(id_key, k)) for d, k in records]
    rows = fetch_dicts(
        conn,
        "select pair_id, left_dataset, left_key_hash, right_dataset, right_key_hash, decision, "
        "decided_by, decided_at, reason from meta.link_decision order by decided_at",
        [],
    )
    wanted = set(hashes)
    out = []
    for r in rows:
        if (r["left_dataset"], r["left_key_hash"]) in wanted or (
            r["right_dataset"],
            r["right_key_hash"],
        ) in wanted:
            out.append(
                {
                    "pair_id": r["pair_id"],
                    "decision": r["decision"],
                    "decided_by": r["decided_by"],
                    "decided_at": r["decided_at"].isoformat(timespec="seconds"),
                    "reason": r["reason"],
                }
            )
    return out


def pending_decisions(conn: duckdb.DuckDBPyConnection) -> int:
    """Decisions recorded after the last publish: a run applies them even with no new batch."""
    return recorded_since_last_publish(conn, "link_decision", "decided_at")
