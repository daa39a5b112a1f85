"""siheyuan evaluate's id-stability and change-feed figures on a hand-made two-round world.

Why: the figures decide whether issue 7's stability target is met; each way a person can keep,
lose or follow an id is pinned here on a few records, without running the pipeline.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from siheyuan.evaluate_stability import evaluate_stability, format_lines

R1_FILES = ["police_hukou_20261001.csv"]
R2_FILES = ["police_hukou_20261101.csv", "health_records_20261101.jsonl"]


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _truth(root: Path) -> Path:
    truth = root / "truth"
    records = [
        # P1 unchanged; P2 re-registered (old key ended, new key); P3 held as two residents in
        # round 1 (a missed link) that merge in round 2; P4 changed and lost its id; P5 died
        ["police_hukou", "h1", "P1"],
        ["police_floating", "f2old", "P2"],
        ["health_records", "m2", "P2"],
        ["police_hukou", "h3", "P3"],
        ["health_records", "m3", "P3"],
        ["police_hukou", "h4", "P4"],
        ["police_hukou", "h5", "P5"],
    ]
    for k, files in ((1, R1_FILES), (2, R2_FILES)):
        folder = truth / f"round_{k}"
        rows = records + ([["police_floating", "f2new", "P2"]] if k == 2 else [])
        _csv(folder / "records.csv", ["dataset", "source_key", "person_id"], rows)
        (folder / "manifest.json").write_text(json.dumps({"round": k, "files": files}))
    _csv(
        truth / "round_2" / "changes.csv",
        ["person_id", "change_kind", "dataset", "source_key", "file_name", "detail"],
        [
            ["P2", "reregistered", "police_floating", "f2new", R2_FILES[0], "f2old"],
            ["P4", "corrected", "police_hukou", "h4", R2_FILES[0], "name:name_homophone"],
            ["P5", "died", "police_hukou", "h5", R2_FILES[0], ""],
        ],
    )
    return truth


def _version(published: Path, n: int, batches: list[str], xref: dict, history, feed) -> None:
    folder = published / f"v{n:06d}"
    folder.mkdir(parents=True)
    manifest = {"version": folder.name, "version_number": n, "batches_in_this_version": batches}
    (folder / "_manifest.json").write_text(json.dumps(manifest))
    pq.write_table(
        pa.table(
            {
                "source_dataset": [k[0] for k in xref],
                "source_key": [k[1] for k in xref],
                "resident_id": list(xref.values()),
            }
        ),
        folder / "resident_source_xref.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "old_resident_id": pa.array([h[0] for h in history], pa.string()),
                "new_resident_id": pa.array([h[1] for h in history], pa.string()),
            }
        ),
        folder / "resident_id_history.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "version_number": pa.array([n] * len(feed), pa.int32()),
                "resident_id": pa.array([f[0] for f in feed], pa.string()),
                "change_kind": pa.array([f[1] for f in feed], pa.string()),
            }
        ),
        folder / "resident_change.parquet",
    )


@pytest.fixture
def world(tmp_path: Path):
    truth = _truth(tmp_path)
    warehouse = tmp_path / "wh"
    published = warehouse / "published"
    before = {
        ("police_hukou", "h1"): "R1",
        ("police_floating", "f2old"): "R2",
        ("health_records", "m2"): "R2",
        ("police_hukou", "h3"): "R3",
        ("health_records", "m3"): "R3b",
        ("police_hukou", "h4"): "R4",
        ("police_hukou", "h5"): "R5",
    }
    after = {**before, ("police_floating", "f2new"): "R2", ("health_records", "m3"): "R3"}
    after[("police_hukou", "h4")] = "R4new"
    _version(published, 1, ["b1"], before, [], [])
    _version(
        published,
        2,
        ["b1", "b2", "b3"],
        after,
        [("R3b", "R3")],
        [("R5", "deceased"), ("R4new", "new")],
    )
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA meta")
    conn.execute(
        "CREATE TABLE meta.batch AS SELECT * FROM (VALUES ('b1', ?), ('b2', ?), ('b3', ?)) "
        "AS t(batch_id, file_name)",
        [R1_FILES[0], *R2_FILES],
    )
    return truth, warehouse, conn


def test_kept_followed_and_lost_ids_are_counted_per_group(world) -> None:
    truth, warehouse, conn = world
    result = evaluate_stability(truth, warehouse, conn, 2)
    assert result["measured"] and result["versions"] == {"before": "v000001", "after": "v000002"}
    # P1 and P3 are unchanged; P3 was two residents and kept one of its two ids
    assert result["unchanged_persons"]["persons"] == 2
    assert result["unchanged_persons"]["kept"] == 2
    hard = result["hard_cases"]
    assert hard["reregistered"]["kept"] == 1
    assert hard["name_corrected"]["persons"] == 1 and hard["name_corrected"]["kept"] == 0
    assert hard["name_corrected"]["changed_and_lost"] == 1
    assert hard["all"]["kept_share"] == 0.5
    assert not result["meets_targets"]
    feed = {t["truth_kind"]: t for t in result["change_feed"]["truth_vs_feed"]}
    assert feed["died"]["truth_persons"] == 1 and feed["died"]["found_in_feed"] == 1
    assert result["change_feed"]["rows_by_kind"] == {"deceased": 1, "new": 1}
    assert any("hard cases" in line for line in format_lines(result))


def test_a_merge_recorded_in_the_history_counts_as_followed(world, tmp_path: Path) -> None:
    truth, warehouse, conn = world
    # P1's only record moves to an id the history says R1 was merged into
    v2 = warehouse / "published" / "v000002"
    xref = pq.read_table(v2 / "resident_source_xref.parquet").to_pylist()
    for row in xref:
        if row["source_key"] == "h1":
            row["resident_id"] = "R1b"
    pq.write_table(pa.Table.from_pylist(xref), v2 / "resident_source_xref.parquet")
    pq.write_table(
        pa.table({"old_resident_id": ["R1"], "new_resident_id": ["R1b"]}),
        v2 / "resident_id_history.parquet",
    )
    result = evaluate_stability(truth, warehouse, conn, 2)
    assert result["unchanged_persons"]["kept"] == 1
    assert result["unchanged_persons"]["changed_but_followed_through_history"] == 1


def test_not_measurable_when_round_one_was_never_published_alone(world) -> None:
    truth, warehouse, conn = world
    (warehouse / "published" / "v000001" / "_manifest.json").unlink()
    result = evaluate_stability(truth, warehouse, conn, 2)
    assert not result["measured"] and "round 1" in result["reason"]
