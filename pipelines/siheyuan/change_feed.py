"""``history.resident_change``: what changed about residents in each published version.

A department system keeps its own copy of the residents it serves. Instead of diffing whole
tables it reads the feed rows with ``version_number`` greater than the last one it applied.
One row per resident and kind per version (docs/history.md has the consumer's walk):

* ``new`` — an id not in the previous version (and not produced by a split);
* ``updated`` — a published column changed; ``changed_fields`` lists every one (bookkeeping
  columns of ``history.yml`` ``feed_ignored_columns`` excepted). It is emitted alongside the
  event kinds below, so applying ``updated`` alone keeps a copy exact;
* ``merged`` — the id was retired into ``related_resident_id`` (``marts.resident_id_event``);
* ``split`` — the id was split off ``related_resident_id``;
* ``deceased`` — status became deceased;
* ``moved_in`` — ``building_id`` changed from one building to another (or, after the first
  version, a new resident arrived in a building) while the resident is active;
* ``deregistered`` — status became moved_out for a resident with a police hukou record (户籍迁出);
* ``moved_out`` — status became moved_out otherwise (a floating resident left, or every record
  of the resident ended), or an active resident vanished from the master without a merge.

The first version history records is the baseline: every resident is ``new`` and nothing else
is derived (its date is not an arrival date). The comparison is against the history's current
rows *before* the version is applied, so :func:`append_changes` runs first in
``history.record_version``.
"""

from __future__ import annotations

import datetime

import duckdb

from siheyuan.warehouse import table_exists

FEED_TABLE = "history.resident_change"
CHANGE_KINDS = (
    "new",
    "updated",
    "merged",
    "split",
    "deceased",
    "moved_in",
    "moved_out",
    "deregistered",
)

FEED_DDL = f"""
CREATE TABLE IF NOT EXISTS {FEED_TABLE} (
    version_number INTEGER NOT NULL,
    as_of DATE NOT NULL,
    resident_id VARCHAR NOT NULL,
    change_kind VARCHAR NOT NULL,
    changed_fields VARCHAR[],       -- updated: the resident columns that changed
    related_resident_id VARCHAR,    -- merged: the surviving id; split: the id it split from
    previous_building_id VARCHAR,   -- moves: the building before
    new_building_id VARCHAR,        -- moves: the building now
    status_date DATE,               -- deceased / moved_out / deregistered, when known
    reason VARCHAR                  -- merged / split: the id event's reason
)
"""

_NO_EVENTS = (
    "SELECT NULL::VARCHAR AS old_resident_id, NULL::VARCHAR AS new_resident_id, "
    "NULL::VARCHAR AS event, NULL::VARCHAR AS reason WHERE false"
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def changed_fields_expression(compared: list[str]) -> str:
    """A list of the names of the compared columns that differ between ``p`` and ``n``."""
    if not compared:
        return "[]::VARCHAR[]"
    items = ", ".join(
        f"CASE WHEN p.{_quote(c)} IS DISTINCT FROM n.{_quote(c)} THEN '{c}' END" for c in compared
    )
    return f"list_filter([{items}], lambda x: x IS NOT NULL)"


def append_changes(
    conn: duckdb.DuckDBPyConnection,
    *,
    version_number: int,
    as_of: datetime.date,
    history_table: str,
    staged: str,
    compared: list[str],
    hukou_dataset: str,
    baseline: bool,
) -> int:
    """Append the version's change rows; return how many.

    ``staged`` holds the new ``marts.resident`` with its ``row_hash``; ``history_table`` still
    holds the previous version (its ``is_current`` rows). ``compared`` are the columns whose
    change makes a resident ``updated``: in the previous version and the new one, not
    bookkeeping — a column the mart gained in this version is not a change of anyone.
    """
    conn.execute(FEED_DDL)
    events = (
        "SELECT old_resident_id, new_resident_id, event, reason FROM marts.resident_id_event"
        if table_exists(conn, "marts", "resident_id_event")
        else _NO_EVENTS
    )
    hukou = "list_contains(string_split(coalesce({}.source_datasets, ''), ','), $hukou)"
    derive_events = "false" if baseline else "true"
    sql = f"""
    WITH cur AS (SELECT * FROM {history_table} WHERE is_current),
    ev AS ({events}),
    split_ids AS (SELECT DISTINCT new_resident_id AS resident_id FROM ev
                  WHERE event = 'split' AND new_resident_id IS NOT NULL),
    merged_ids AS (SELECT DISTINCT old_resident_id AS resident_id FROM ev
                   WHERE event = 'merged' AND old_resident_id IS NOT NULL),
    diff AS (
        SELECT
            n.resident_id,
            p.resident_id IS NULL AS is_new,
            n.resident_id IN (SELECT resident_id FROM split_ids) AS from_split,
            p.status AS old_status, n.status AS new_status,
            p.building_id AS old_building, n.building_id AS new_building,
            n.status_date,
            {hukou.format("n")} AS in_hukou,
            {changed_fields_expression(compared)} AS changed
        FROM {staged} AS n LEFT JOIN cur AS p ON p.resident_id = n.resident_id
        WHERE p.resident_id IS NULL OR p.row_hash <> n.row_hash
    ),
    gone AS (
        SELECT p.resident_id, p.building_id, {hukou.format("p")} AS in_hukou
        FROM cur AS p
        WHERE p.status = 'active'
          AND p.resident_id NOT IN (SELECT resident_id FROM {staged})
          AND p.resident_id NOT IN (SELECT resident_id FROM merged_ids)
    ),
    rows AS (
        SELECT resident_id, 'new' AS change_kind, NULL::VARCHAR[] AS changed_fields,
               NULL AS related_resident_id, NULL AS previous_building_id,
               NULL AS new_building_id, NULL::DATE AS status_date, NULL AS reason
        FROM diff WHERE is_new AND NOT from_split
        UNION ALL
        SELECT resident_id, 'updated', changed, NULL, NULL, NULL, NULL, NULL
        FROM diff WHERE NOT is_new AND len(changed) > 0
        UNION ALL
        SELECT resident_id, 'deceased', NULL, NULL, NULL, NULL, status_date, NULL
        FROM diff WHERE {derive_events} AND new_status = 'deceased'
          AND old_status IS DISTINCT FROM 'deceased'
        UNION ALL
        SELECT resident_id, CASE WHEN in_hukou THEN 'deregistered' ELSE 'moved_out' END,
               NULL, NULL, coalesce(old_building, new_building), NULL, status_date, NULL
        FROM diff WHERE {derive_events} AND new_status = 'moved_out'
          AND old_status IS DISTINCT FROM 'moved_out'
        UNION ALL
        SELECT resident_id, 'moved_in', NULL, NULL, old_building, new_building, NULL, NULL
        FROM diff WHERE {derive_events} AND new_status = 'active' AND new_building IS NOT NULL
          AND ((NOT is_new AND old_building IS NOT NULL AND old_building <> new_building)
               OR (is_new AND NOT from_split))
        UNION ALL
        SELECT resident_id, CASE WHEN in_hukou THEN 'deregistered' ELSE 'moved_out' END,
               NULL, NULL, building_id, NULL, NULL, NULL
        FROM gone WHERE {derive_events}
        UNION ALL
        SELECT old_resident_id, 'merged', NULL, new_resident_id, NULL, NULL, NULL, reason
        FROM ev WHERE event = 'merged' AND old_resident_id IS NOT NULL
        UNION ALL
        SELECT new_resident_id, 'split', NULL, old_resident_id, NULL, NULL, NULL, reason
        FROM ev WHERE event = 'split' AND new_resident_id IS NOT NULL
    )
    SELECT $version::INTEGER AS version_number, $as_of::DATE AS as_of, *
    FROM rows
    QUALIFY row_number() OVER (
        PARTITION BY resident_id, change_kind ORDER BY related_resident_id NULLS LAST) = 1
    ORDER BY resident_id, change_kind
    """
    before = conn.execute(f"SELECT count(*) FROM {FEED_TABLE}").fetchone()
    conn.execute(
        f"INSERT INTO {FEED_TABLE} BY NAME {sql}",
        {"hukou": hukou_dataset, "version": version_number, "as_of": as_of},
    )
    after = conn.execute(f"SELECT count(*) FROM {FEED_TABLE}").fetchone()
    return (after[0] if after else 0) - (before[0] if before else 0)
