"""Stable resident ids: carry each person's id from the last publish to this run's clusters.

Why: department systems store ``resident_id`` in their own databases. An id derived only from a
cluster's anchor (its valid ID number, else its first record) changes whenever the anchor does —
a child who gains an ID number, a floating resident who re-registers under a new 登记编号, a
record that sorts earlier joining the cluster. So the id is *assigned*, not derived: every record
remembers the resident id it was published under (``meta.resident_record_id``), and a new cluster
inherits the id most of its records had.

The assignment, per run (``assign_ids``; deterministic, so a re-run of the same data gives the
same ids):

1. count, for every (new cluster, previous id), how many of the previous id's records the cluster
   holds;
2. greedily, largest overlap first, give each cluster at most one previous id and each previous id
   to at most one cluster. Ties: the cluster whose own anchor would give that very id (a split
   leaves the id with the part that holds its anchor), then the smaller id, then the anchor —
   so **on a merge the id of the larger part survives** and **on a split the larger part keeps
   the id**;
3. a cluster left without one gets a new id: the keyed hash of its anchor, or, if that id was
   ever used, of ``anchor#2``, ``anchor#3`` … (an id is never reused for someone else).

The events (merged, split, retired) are derived in dbt (``marts.resident_id_event``) and, with
the new map, committed at publish (``commit_ids``) into ``meta.resident_id_history``, which is
published as ``resident_id_history`` so a consumer can follow any id it stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

ID_PREFIX = "R"


def resident_id_for(id_key: str, anchor: str) -> str:
    """The keyed hash dbt's ``stable_id('R', anchor)`` macro computes (same bytes, same id)."""
    return ID_PREFIX + hashlib.sha256(f"{id_key}|{anchor}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Overlap:
    """How many records of a previous id a new cluster holds."""

    anchor: str
    previous_id: str
    records: int


def assign_ids(
    anchors: Iterable[tuple[str, str]],
    overlaps: Iterable[Overlap],
    used_ids: set[str],
    id_key: str,
) -> dict[str, tuple[str, str]]:
    """Map every cluster anchor to ``(resident_id, basis)``; basis is ``kept`` or ``new``.

    ``anchors``: (anchor, anchor_id) of every cluster of this run, anchor_id being the keyed
    hash of the anchor. ``overlaps``: the previous ids found among each cluster's records.
    ``used_ids``: every id ever published or retired in this warehouse.
    """
    anchor_ids = dict(anchors)
    ranked = sorted(
        overlaps,
        key=lambda o: (
            -o.records,
            anchor_ids.get(o.anchor) != o.previous_id,
            o.previous_id,
            o.anchor,
        ),
    )
    result: dict[str, tuple[str, str]] = {}
    taken: set[str] = set()
    for o in ranked:
        if o.anchor in result or o.previous_id in taken or o.anchor not in anchor_ids:
            continue
        result[o.anchor] = (o.previous_id, "kept")
        taken.add(o.previous_id)
    unavailable = used_ids | taken
    for anchor in sorted(anchor_ids):
        if anchor in result:
            continue
        candidate, n = anchor_ids[anchor], 1
        while candidate in unavailable:
            n += 1
            candidate = resident_id_for(id_key, f"{anchor}#{n}")
        result[anchor] = (candidate, "new")
        unavailable.add(candidate)
    return result


ID_MAP_TABLE = "meta.resident_record_id"
ID_HISTORY_TABLE = "meta.resident_id_history"


def commit_ids(conn: duckdb.DuckDBPyConnection, version_number: int) -> int:
    """At publish: remember this version's record → resident id map and append its id events.

    Runs on the run's working database inside the atomic publish, so the map and the published
    version move together. Returns the number of id events recorded.
    """
    # Only what changed is written: a record whose id moved or that is gone loses its row, a
    # record new to the map or under a new id gains one (since this version); an unchanged
    # record keeps its row and its since_version. (Rewriting the whole map cost twice as much at a
    # million persons; readers join on the key and never rely on the row order.)
    same = (
        "l.source_dataset = p.source_dataset AND l.source_key = p.source_key "
        "AND l.resident_id = p.resident_id"
    )
    conn.execute(
        f"DELETE FROM {ID_MAP_TABLE} AS p WHERE NOT EXISTS "
        f"(SELECT 1 FROM intermediate.int_resident_links AS l WHERE {same})"
    )
    conn.execute(
        f"INSERT INTO {ID_MAP_TABLE} "
        "SELECT l.source_dataset, l.source_key, l.resident_id, ? "
        "FROM intermediate.int_resident_links AS l "
        f"WHERE NOT EXISTS (SELECT 1 FROM {ID_MAP_TABLE} AS p WHERE {same})",
        [version_number],
    )
    before = conn.execute(f"SELECT count(*) FROM {ID_HISTORY_TABLE}").fetchone()
    conn.execute(
        f"""
        INSERT INTO {ID_HISTORY_TABLE}
        SELECT ?, old_resident_id, new_resident_id, event, record_count, reason, ?
        FROM marts.resident_id_event
        ORDER BY event, old_resident_id, new_resident_id
        """,
        [version_number, datetime.now(UTC).replace(tzinfo=None)],
    )
    after = conn.execute(f"SELECT count(*) FROM {ID_HISTORY_TABLE}").fetchone()
    return int(after[0] if after else 0) - int(before[0] if before else 0)


def cluster_ids_table(
    records: pa.Table, previous: pa.Table, history: pa.Table, id_key: str
) -> pa.Table:
    """The dbt model's work (``int_resident_ids``): Arrow in, one row per cluster out.

    ``records``: this run's (source_dataset, source_key, anchor, anchor_resident_id);
    ``previous``: the last publish's (source_dataset, source_key, resident_id);
    ``history``: every (old_resident_id, new_resident_id) event recorded so far.

    Why the split: in a run after the first, nearly every cluster holds the records of exactly
    one previous id and no other cluster holds any of them. Such an *isolated* overlap is kept by
    the greedy whatever the order (nothing else competes for its cluster or its id), so it is
    settled in SQL. So is a *fresh* cluster — no previous id among its records, and an anchor id
    that was never used and that no other cluster's anchor gives: the greedy's second loop gives
    it that id (in the first run, that is every cluster). Only the contested overlaps and the
    other new clusters go through :func:`assign_ids` in Python — the same result, without a
    million Python objects (1M persons: 12 s → a few seconds). The one departure: should the
    keyed hash of some ``anchor#n`` equal a fresh cluster's own id (a 64-bit collision), the
    fresh cluster keeps it and the other takes ``#n+1``; no id is ever given twice.
    """
    con = duckdb.connect()
    try:
        con.register("r", records)
        con.register("p", previous)
        con.register("h", history)
        con.execute(
            """
            CREATE TEMP TABLE o AS
            SELECT anchor, previous_id, n,
                   count(*) OVER (PARTITION BY anchor) AS per_anchor,
                   count(*) OVER (PARTITION BY previous_id) AS per_id
            FROM (
                SELECT r.anchor, p.resident_id AS previous_id, count(*) AS n
                FROM r INNER JOIN p
                  ON p.source_dataset = r.source_dataset AND p.source_key = r.source_key
                GROUP BY ALL
            );
            CREATE TEMP TABLE used_ids AS
            SELECT resident_id AS id FROM p WHERE resident_id IS NOT NULL
            UNION SELECT old_resident_id FROM h WHERE old_resident_id IS NOT NULL
            UNION SELECT new_resident_id FROM h WHERE new_resident_id IS NOT NULL;
            CREATE TEMP TABLE a AS
            SELECT anchor, anchor_resident_id,
                   count(*) OVER (PARTITION BY anchor_resident_id) AS same_id
            FROM (SELECT DISTINCT anchor, anchor_resident_id FROM r);
            CREATE TEMP TABLE fresh AS
            SELECT a.anchor, a.anchor_resident_id FROM a
            ANTI JOIN o ON o.anchor = a.anchor
            ANTI JOIN used_ids AS u ON u.id = a.anchor_resident_id
            WHERE a.same_id = 1;
            """
        )
        contested = [
            Overlap(a, rid, int(n))
            for a, rid, n in con.execute(
                "SELECT anchor, previous_id, n FROM o WHERE per_anchor > 1 OR per_id > 1"
            ).fetchall()
        ]
        # the clusters the greedy has to see: the contested ones and the new ones not fresh
        anchors = con.execute(
            """
            SELECT anchor, anchor_resident_id FROM a
            ANTI JOIN (SELECT anchor FROM o WHERE per_anchor = 1 AND per_id = 1) USING (anchor)
            ANTI JOIN fresh USING (anchor)
            """
        ).fetchall()
        # the used ids the greedy can meet: its clusters' own ids and, found by trying, any
        # ``anchor#n`` id it hands out that is used or fresh (each try adds at least one)
        con.register("mine", pa.table({"id": pa.array([i for _, i in anchors], pa.string())}))
        unavailable = {
            row[0]
            for row in con.execute("SELECT id FROM mine SEMI JOIN used_ids USING (id)").fetchall()
        }
        while True:
            assigned = assign_ids(anchors, contested, unavailable, id_key)
            minted = pa.array([v[0] for v in assigned.values() if v[1] == "new"], pa.string())
            con.register("minted", pa.table({"id": minted}))
            clash = {
                row[0]
                for row in con.execute(
                    "SELECT id FROM minted WHERE id IN (SELECT id FROM used_ids) "
                    "OR id IN (SELECT anchor_resident_id FROM fresh)"
                ).fetchall()
            } - unavailable
            if not clash:
                break
            unavailable |= clash
        keys = list(assigned)
        con.register(
            "assigned",
            pa.table(
                {
                    "anchor": pa.array(keys, pa.string()),
                    "resident_id": pa.array([assigned[k][0] for k in keys], pa.string()),
                    "id_basis": pa.array([assigned[k][1] for k in keys], pa.string()),
                }
            ),
        )
        return con.sql(
            """
            SELECT anchor, previous_id AS resident_id, 'kept' AS id_basis
            FROM o WHERE per_anchor = 1 AND per_id = 1
            UNION ALL
            SELECT anchor, anchor_resident_id, 'new' FROM fresh
            UNION ALL
            SELECT anchor, resident_id, id_basis FROM assigned
            ORDER BY anchor
            """
        ).to_arrow_table()
    finally:
        con.close()
