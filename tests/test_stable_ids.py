"""The stable-id assignment rule (siheyuan.stable_ids.assign_ids), case by case.

Why: department systems store resident ids; these cases are the ones where an id derived from a
cluster's anchor alone would change although the person did not, or where two clusters want the
same id.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from siheyuan.stable_ids import (
    ID_HISTORY_TABLE,
    ID_MAP_TABLE,
    Overlap,
    assign_ids,
    cluster_ids_table,
    commit_ids,
    resident_id_for,
)

KEY = "test-key"


def rid(anchor: str) -> str:
    return resident_id_for(KEY, anchor)


def test_first_publish_ids_are_the_anchor_hashes() -> None:
    anchors = [("id:1", rid("id:1")), ("rec:a:1", rid("rec:a:1"))]
    assert assign_ids(anchors, [], set(), KEY) == {
        "id:1": (rid("id:1"), "new"),
        "rec:a:1": (rid("rec:a:1"), "new"),
    }


def test_a_new_anchor_keeps_the_previous_id() -> None:
    # a child's records were anchored on its health record; now it has an ID number
    old = rid("rec:health:7")
    got = assign_ids([("id:2", rid("id:2"))], [Overlap("id:2", old, 2)], {old}, KEY)
    assert got == {"id:2": (old, "kept")}


def test_on_a_merge_the_id_of_the_larger_part_survives() -> None:
    a, b = rid("rec:a:1"), rid("rec:b:1")
    got = assign_ids(
        [("rec:a:1", a)], [Overlap("rec:a:1", a, 1), Overlap("rec:a:1", b, 3)], {a, b}, KEY
    )
    assert got == {"rec:a:1": (b, "kept")}


def test_on_a_split_the_larger_part_keeps_the_id_and_the_other_gets_a_new_one() -> None:
    old = rid("rec:a:1")
    anchors = [("rec:a:1", old), ("rec:c:1", rid("rec:c:1"))]
    got = assign_ids(anchors, [Overlap("rec:a:1", old, 1), Overlap("rec:c:1", old, 2)], {old}, KEY)
    assert got["rec:c:1"] == (old, "kept")
    # the smaller part's anchor hash is the old id itself: never reused, a fresh one instead
    assert got["rec:a:1"] == (rid("rec:a:1#2"), "new")


def test_a_tie_leaves_the_id_with_the_part_holding_its_anchor() -> None:
    old = rid("rec:b:1")
    anchors = [("rec:a:1", rid("rec:a:1")), ("rec:b:1", old)]
    got = assign_ids(anchors, [Overlap("rec:a:1", old, 1), Overlap("rec:b:1", old, 1)], {old}, KEY)
    assert got == {"rec:b:1": (old, "kept"), "rec:a:1": (rid("rec:a:1"), "new")}


def test_a_retired_id_is_never_given_to_someone_else() -> None:
    retired = rid("rec:x:1")
    got = assign_ids([("rec:x:1", retired)], [], {retired}, KEY)
    assert got["rec:x:1"][0] not in {retired}


def test_the_assignment_does_not_depend_on_input_order() -> None:
    anchors = [(f"rec:a:{i}", rid(f"rec:a:{i}")) for i in range(6)]
    overlaps = [Overlap(f"rec:a:{i}", rid(f"rec:a:{i % 3}"), 1 + i % 2) for i in range(6)]
    used = {rid(f"rec:a:{i}") for i in range(3)}
    first = assign_ids(anchors, overlaps, used, KEY)
    assert assign_ids(anchors[::-1], overlaps[::-1], used, KEY) == first
    assert len({v[0] for v in first.values()}) == 6


def test_cluster_ids_table_matches_records_to_their_previous_ids() -> None:
    old = rid("rec:health_records:9")
    records = pa.table(
        {
            "source_dataset": ["health_records", "police_hukou"],
            "source_key": ["9", "5"],
            "anchor": ["id:3", "id:3"],
            "anchor_resident_id": [rid("id:3"), rid("id:3")],
        }
    )
    previous = pa.table(
        {"source_dataset": ["health_records"], "source_key": ["9"], "resident_id": [old]}
    )
    history = pa.table(
        {"old_resident_id": pa.array([], pa.string()), "new_resident_id": pa.array([], pa.string())}
    )
    out = cluster_ids_table(records, previous, history, KEY).to_pylist()
    assert out == [{"anchor": "id:3", "resident_id": old, "id_basis": "kept"}]


def _greedy_alone(records: pa.Table, previous: pa.Table, used: set[str]) -> list[dict]:
    """The table the rule gives when every overlap goes through assign_ids (no SQL shortcut)."""
    prev = {(p["source_dataset"], p["source_key"]): p["resident_id"] for p in previous.to_pylist()}
    counts: dict[tuple[str, str], int] = {}
    anchors: dict[str, str] = {}
    for r in records.to_pylist():
        anchors[r["anchor"]] = r["anchor_resident_id"]
        old = prev.get((r["source_dataset"], r["source_key"]))
        if old is not None:
            counts[(r["anchor"], old)] = counts.get((r["anchor"], old), 0) + 1
    got = assign_ids(anchors.items(), [Overlap(a, p, n) for (a, p), n in counts.items()], used, KEY)
    return [{"anchor": a, "resident_id": got[a][0], "id_basis": got[a][1]} for a in sorted(got)]


def test_isolated_overlaps_settled_in_sql_give_what_the_greedy_gives() -> None:
    """Merges, splits, ties, new and vanished people, mixed with plain carried-over clusters."""
    import random

    for seed in range(30):
        rng = random.Random(seed)
        people = rng.randint(5, 40)
        # last publish: each person's records under one id; a few ids held two people (merged)
        previous_rows, records_rows = [], []
        for person in range(people):
            old = rid(f"old:{person // 2 if rng.random() < 0.15 else person}")
            anchor = f"id:{person if rng.random() < 0.8 else person // 3}"  # some merge now
            for rec in range(rng.randint(1, 4)):
                key = f"{person}-{rec}"
                if rng.random() < 0.9:
                    previous_rows.append(("health_records", key, old))
                if rng.random() < 0.95:  # a record may be gone this run
                    split = rng.random() < 0.1
                    a = f"{anchor}/split" if split else anchor
                    records_rows.append(("health_records", key, a, rid(a)))
        records = pa.table(
            dict(
                zip(
                    ["source_dataset", "source_key", "anchor", "anchor_resident_id"],
                    map(list, zip(*records_rows, strict=True)),
                    strict=True,
                )
            )
        )
        previous = pa.table(
            dict(
                zip(
                    ["source_dataset", "source_key", "resident_id"],
                    map(list, zip(*previous_rows, strict=True)),
                    strict=True,
                )
            )
        )
        retired = rid(f"id:{people - 1}")  # an id once used: never handed out again
        history = pa.table({"old_resident_id": [retired], "new_resident_id": [None]})
        used = {r for _, _, r in previous_rows} | {retired}
        got = cluster_ids_table(records, previous, history, KEY).to_pylist()
        assert got == _greedy_alone(records, previous, used), seed
        assert len({r["resident_id"] for r in got}) == len(got)


def _ids_table(rows: list[tuple[str, str, str]]) -> pa.Table:
    """Records as (source_key, anchor, anchor_resident_id), all in one dataset."""
    return pa.table(
        {
            "source_dataset": ["health_records"] * len(rows),
            "source_key": [k for k, _, _ in rows],
            "anchor": [a for _, a, _ in rows],
            "anchor_resident_id": [i for _, _, i in rows],
        }
    )


def test_fresh_clusters_settled_in_sql_never_share_an_id_with_the_greedys() -> None:
    """A first run settles every cluster in SQL; a forced collision goes through the greedy."""
    empty_prev = pa.table(
        {
            "source_dataset": pa.array([], pa.string()),
            "source_key": pa.array([], pa.string()),
            "resident_id": pa.array([], pa.string()),
        }
    )
    retired_anchor, fresh_anchor = "id:b", "id:a"
    retired = rid(retired_anchor)
    history = pa.table({"old_resident_id": [retired], "new_resident_id": [None]})
    # the fresh cluster's own id is what the retired anchor's second try would be
    records = _ids_table(
        [
            ("1", fresh_anchor, rid(f"{retired_anchor}#2")),
            ("2", retired_anchor, retired),
            ("3", "id:c", rid("id:c")),
            ("4", "id:d", rid("id:c")),
        ]  # two anchors, one id
    )
    got = {r["anchor"]: r for r in cluster_ids_table(records, empty_prev, history, KEY).to_pylist()}
    assert got[fresh_anchor]["resident_id"] == rid(f"{retired_anchor}#2")  # sorts first: greedy's
    assert got[retired_anchor]["resident_id"] == rid(f"{retired_anchor}#3")
    assert got["id:c"]["resident_id"] == rid("id:c") and got["id:d"]["resident_id"] == rid("id:d#2")
    assert all(r["id_basis"] == "new" for r in got.values())
    assert got == {r["anchor"]: r for r in _greedy_alone(records, empty_prev, {retired})}


def _map_db(links: list[tuple[str, str, str]]) -> duckdb.DuckDBPyConnection:
    """A database with the tables commit_ids reads and writes, and ``links`` as this run's."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA meta; CREATE SCHEMA intermediate; CREATE SCHEMA marts")
    conn.execute(
        f"CREATE TABLE {ID_MAP_TABLE} (source_dataset VARCHAR, source_key VARCHAR, "
        "resident_id VARCHAR, since_version INTEGER)"
    )
    conn.execute(
        f"CREATE TABLE {ID_HISTORY_TABLE} (version_number INTEGER, old_resident_id VARCHAR, "
        "new_resident_id VARCHAR, event VARCHAR, record_count INTEGER, reason VARCHAR, "
        "recorded_at TIMESTAMP)"
    )
    conn.execute(
        "CREATE TABLE marts.resident_id_event (old_resident_id VARCHAR, new_resident_id VARCHAR, "
        "event VARCHAR, record_count INTEGER, reason VARCHAR)"
    )
    _set_links(conn, links)
    return conn


def _set_links(conn: duckdb.DuckDBPyConnection, links: list[tuple[str, str, str]]) -> None:
    conn.execute(
        "CREATE OR REPLACE TABLE intermediate.int_resident_links "
        "(source_dataset VARCHAR, source_key VARCHAR, resident_id VARCHAR)"
    )
    conn.executemany("INSERT INTO intermediate.int_resident_links VALUES (?, ?, ?)", links)


def test_commit_ids_keeps_an_unchanged_record_since_its_version_and_drops_gone_ones() -> None:
    conn = _map_db([("police_hukou", "1", "R1"), ("police_hukou", "2", "R1"), ("hr", "3", "R3")])
    commit_ids(conn, 1)
    # version 2: record 2 moved to R2, record 3 is gone, record 4 is new, record 1 is unchanged
    _set_links(conn, [("police_hukou", "1", "R1"), ("police_hukou", "2", "R2"), ("hr", "4", "R4")])
    commit_ids(conn, 2)
    rows = conn.execute(f"SELECT * FROM {ID_MAP_TABLE} ORDER BY source_dataset, source_key")
    assert rows.fetchall() == [
        ("hr", "4", "R4", 2),
        ("police_hukou", "1", "R1", 1),
        ("police_hukou", "2", "R2", 2),
    ]
