"""The batch registry applies each file once, in order, and accounts for every row."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import duckdb
from siheyuan.contracts import load_contracts
from siheyuan.ingest import check_rows, ingest_dataset
from siheyuan.readers import RawRow
from siheyuan.standardise.id_number import check_char
from siheyuan.warehouse import initialise, key_hash, warehouse_id_key

CONTRACTS = load_contracts()
HUKOU = CONTRACTS["police_hukou"]
HEADER = ",".join(HUKOU.column_names)


def _row(no: str, name: str = "张伟") -> str:
    return f"{no},330106198503021234,{name},,1,01,19850302,H001,02,学院路77号,正常,"


def _land(landing: Path, name: str, rows: list[str]) -> Path:
    path = landing / "police" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _dbs(tmp_path: Path) -> tuple[Path, Path]:
    work, live = tmp_path / "work.duckdb", tmp_path / "live.duckdb"
    initialise(work, CONTRACTS)
    initialise(live, CONTRACTS)
    return work, live


def test_each_file_is_applied_once_and_replays_are_duplicates(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    _land(landing, "police_hukou_20261001.csv", [_row("P1"), _row("P2")])
    first = ingest_dataset(work, live, HUKOU, landing, "run1")
    assert [(o.status, o.rows_accepted) for o in first] == [("applied", 2)]
    # the same bytes again under another name: a no-op, recorded once
    (landing / "police" / "police_hukou_20261001_01.csv").write_bytes(
        (landing / "police" / "police_hukou_20261001.csv").read_bytes()
    )
    second = ingest_dataset(work, live, HUKOU, landing, "run2")
    assert sorted(o.status for o in second) == ["duplicate", "duplicate"]
    third = ingest_dataset(work, live, HUKOU, landing, "run3")
    with duckdb.connect(str(work)) as conn:
        assert conn.execute('SELECT count(*) FROM raw."police_hukou"').fetchone() == (2,)
        statuses = conn.execute("SELECT status, count(*) FROM meta.batch GROUP BY 1 ORDER BY 1")
        assert statuses.fetchall() == [("applied", 1), ("duplicate", 1)]
    assert all(o.status == "duplicate" for o in third)


def test_lineage_is_kept_on_every_row(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    path = _land(landing, "police_hukou_20261001.csv", [_row("P1")])
    ingest_dataset(work, live, HUKOU, landing, "run1")
    with duckdb.connect(str(work)) as conn:
        row = conn.execute(
            "SELECT _file_name, _row_number, _source_key, length(_file_sha256), _apply_seq, "
            '_extract_date::VARCHAR FROM raw."police_hukou"'
        ).fetchone()
    assert row == (path.name, 2, "P1", 64, 1, "2026-10-01")


def test_older_batch_after_a_newer_one_is_rejected_in_the_live_registry(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    _land(landing, "police_hukou_20261101.csv", [_row("P1")])
    ingest_dataset(work, live, HUKOU, landing, "run1")
    _land(landing, "police_hukou_20261001.csv", [_row("P1"), _row("P9")])
    outcomes = ingest_dataset(work, live, HUKOU, landing, "run2")
    rejected = [o for o in outcomes if o.status == "rejected"]
    assert rejected and rejected[0].reason_code == "out_of_order"
    assert "police_hukou_20261001.csv" in (rejected[0].reason or "")
    with duckdb.connect(str(live)) as conn:
        assert conn.execute("SELECT status FROM meta.batch").fetchall() == [("rejected",)]


def test_rows_are_accounted_for(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    _land(
        landing,
        "police_hukou_20261001.csv",
        [_row("P1"), _row("P1"), _row("P2"), _row(""), ",,,,,,,,,,,", _row("P3", name="")],
    )
    (outcome,) = ingest_dataset(work, live, HUKOU, landing, "run1")
    assert (
        outcome.rows_received,
        outcome.rows_accepted,
        outcome.rows_quarantined,
        outcome.rows_duplicate,
    ) == (6, 2, 3, 1)
    assert outcome.balanced()
    with duckdb.connect(str(work)) as conn:
        reasons = conn.execute("SELECT reason_code FROM meta.quarantine ORDER BY row_number")
        assert [r[0] for r in reasons.fetchall()] == [
            "missing_source_key",
            "empty_row",
            "missing_required",
        ]


def test_snapshot_conflict_keeps_the_last_row_and_quarantines_the_earlier() -> None:
    rows = [
        RawRow(2, {"人员编号": "P1", "姓名": "张伟"}),
        RawRow(3, {"人员编号": "P1", "姓名": "张炜"}),
    ]
    checked = check_rows(HUKOU, rows)
    assert [r.row_number for r, _, _ in checked.accepted] == [3]
    assert [(p.row_number, p.reason_code) for p in checked.quarantined] == [
        (2, "conflicting_duplicate_key")
    ]


def test_delta_repeats_are_successive_changes() -> None:
    hr = CONTRACTS["hr_insured"]
    base = {"个人编号": "R1", "姓名": "王芳"}
    rows = [RawRow(2, {**base, "变更类型": "新增"}), RawRow(3, {**base, "变更类型": "注销"})]
    checked = check_rows(hr, rows)
    assert [op for _, _, op in checked.accepted] == ["upsert", "delete"]


def test_a_delete_needs_only_key_and_operation(tmp_path: Path) -> None:
    health = CONTRACTS["health_records"]
    rows = [RawRow(1, {"archive_no": "A1", "op": "D"})]
    checked = check_rows(health, rows)
    assert [(k, op) for _, k, op in checked.accepted] == [("A1", "delete")]


def test_a_newer_snapshot_repeating_an_older_list_is_applied(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    a = _land(landing, "police_hukou_20261001.csv", [_row("P1"), _row("P2")])
    _land(landing, "police_hukou_20261101.csv", [_row("P1")])
    ingest_dataset(work, live, HUKOU, landing, "run1")
    (landing / "police" / "police_hukou_20261201.csv").write_bytes(a.read_bytes())
    outcomes = ingest_dataset(work, live, HUKOU, landing, "run2")
    assert [(o.file_name, o.status) for o in outcomes if o.status != "duplicate"] == [
        ("police_hukou_20261201.csv", "applied")
    ]


def test_a_snapshot_redelivered_for_the_same_date_replaces_it(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    path = _land(landing, "police_hukou_20261001.csv", [_row("P1")])
    ingest_dataset(work, live, HUKOU, landing, "run1")
    _land(landing, path.name, [_row("P1"), _row("P2")])  # corrected: P2 was missing
    (outcome,) = ingest_dataset(work, live, HUKOU, landing, "run2")
    assert outcome.status == "applied" and outcome.rows_accepted == 2


def test_a_different_delta_for_an_applied_date_and_seq_is_refused(tmp_path: Path) -> None:
    hr = CONTRACTS["hr_insured"]
    header = ",".join(f'"{c}"' for c in hr.column_names)

    def land(rows: list[str]) -> None:
        path = tmp_path / "landing" / "hr" / "hr_insured_20261001.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("gb18030"))

    row = '"R{n}","","王芳","女","198503","汉族","x","正常参保","就业","u","","a","新增","20261001"'
    work, live = _dbs(tmp_path)
    land([row.format(n=1)])
    ingest_dataset(work, live, hr, tmp_path / "landing", "run1")
    land([row.format(n=1), row.format(n=2)])
    (outcome,) = ingest_dataset(work, live, hr, tmp_path / "landing", "run2")
    assert outcome.status == "rejected" and outcome.reason_code == "out_of_order"
    assert "next seq" in (outcome.reason or "")


def test_a_replay_under_its_own_name_reaches_the_ingest_as_a_counted_no_op(tmp_path: Path) -> None:
    """The runner never plans a settled (name, content); the ingest still treats it as a replay.

    Pinned here because the end-to-end matrix cannot reach this path: ``runner.plan`` filters the
    file out before any ingest runs.
    """
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    _land(landing, "police_hukou_20261001.csv", [_row("P1"), _row("P2"), "P9"])
    (first,) = ingest_dataset(work, live, HUKOU, landing, "run1")
    assert (first.status, first.rows_received, first.rows_accepted) == ("applied", 3, 2)
    (again,) = ingest_dataset(work, live, HUKOU, landing, "run2")
    # not re-read: its rows are the applied content's, every one a duplicate of an applied row
    assert (again.status, again.rows_received, again.rows_duplicate) == ("duplicate", 3, 3)
    assert again.rows_accepted == again.rows_quarantined == 0 and again.balanced()
    assert "not re-read" in (again.reason or "")
    with duckdb.connect(str(work)) as conn:
        assert conn.execute('SELECT count(*) FROM raw."police_hukou"').fetchone() == (2,)
        # recorded once per (name, content): the applied record stays the file's only record
        assert conn.execute("SELECT status FROM meta.batch").fetchall() == [("applied",)]


def test_a_rejected_batch_records_the_rows_it_read_and_none_accepted(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    valid = "33010619850302" + "123"
    valid += check_char(valid)
    rows = [_row(f"P{i}").replace("330106198503021234", valid) for i in range(30)]
    _land(landing, "police_hukou_20261001.csv", rows)
    (first,) = ingest_dataset(work, live, HUKOU, landing, "run1")
    assert first.status == "applied", first.reason
    # 30 → 10 rows: the snapshot volume check refuses it after reading every row
    _land(landing, "police_hukou_20261101.csv", rows[:10])
    out = ingest_dataset(work, live, HUKOU, landing, "run2")[-1]
    assert (out.status, out.reason_code) == ("rejected", "row_count_change")
    assert (out.rows_received, out.rows_accepted, out.rows_quarantined) == (10, 0, 0)
    # refused before its rows were read (a declared column missing): recorded as not read
    other = tmp_path / "other"
    bad = other / "police" / "police_hukou_20261201.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("人员编号\nP1\n", encoding="utf-8")
    (out,) = ingest_dataset(work, live, HUKOU, other, "run3")
    assert (out.status, out.reason_code, out.rows_received) == ("rejected", "missing_columns", None)
    with duckdb.connect(str(live)) as conn:
        rows = conn.execute(
            "SELECT file_name, rows_received, rows_accepted, rows_quarantined FROM meta.batch "
            "WHERE status = 'rejected' ORDER BY file_name"
        ).fetchall()
    assert rows == [
        ("police_hukou_20261101.csv", 10, 0, 0),
        ("police_hukou_20261201.csv", None, 0, 0),
    ]


def test_a_shifted_row_is_quarantined_without_a_source_key(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    # a field lost in the middle: the key column is fine, but an ID number slid into 姓名 etc.
    shifted = "330106198503021234,张伟,,1,01,19850302,H001,02,学院路77号,正常,,"
    _land(landing, "police_hukou_20261001.csv", [_row("P1"), shifted, "330106198503021234,x"])
    ingest_dataset(work, live, HUKOU, landing, "run1")
    with duckdb.connect(str(work)) as conn:
        rows = conn.execute(
            "SELECT row_number, reason_code, source_key FROM meta.quarantine ORDER BY 1"
        ).fetchall()
    assert rows == [(3, "garbled_row", None), (4, "field_count_mismatch", None)]


def test_the_ingest_log_line_does_not_claim_the_batch_is_applied(tmp_path: Path, caplog) -> None:
    """The run may still be rejected by another file: at ingest a batch is only checked."""
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    path = _land(landing, "police_hukou_20261001.csv", [_row("P1"), _row("P2", name="")])
    with caplog.at_level(logging.INFO, logger="siheyuan.ingest"):
        ingest_dataset(work, live, HUKOU, landing, "run1")
    (line,) = [r.getMessage() for r in caplog.records if path.name in r.getMessage()]
    assert line == (
        f"checked {path.name}: 2 received, 1 accepted, 1 quarantined, 0 duplicate "
        "(applied when this run publishes)"
    )
    assert "330106198503021234" not in caplog.text


def test_an_empty_snapshot_is_rejected_with_the_rows_it_would_quarantine(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    _land(landing, "police_hukou_20261001.csv", [_row("P1", name=""), _row("", name="x")])
    (out,) = ingest_dataset(work, live, HUKOU, landing, "run1")
    assert (out.status, out.reason_code, out.rows_quarantined) == ("rejected", "empty_snapshot", 0)
    query = "SELECT row_number, reason_code, run_id FROM meta.quarantine ORDER BY 1"
    with duckdb.connect(str(live)) as conn:  # the rejection's record: in the live database
        assert conn.execute(query).fetchall() == [
            (2, "missing_required", "run1"),
            (3, "missing_source_key", "run1"),
        ]
    with duckdb.connect(str(work)) as conn:  # the working copy of a rejected run is discarded
        assert conn.execute(query).fetchall() == []


def test_a_reported_check_that_fails_is_a_warning_at_run_time(tmp_path: Path, caplog) -> None:
    """A snapshot 25 % smaller than the last is applied, and the engineer is told (masked)."""
    landing = tmp_path / "landing"
    work, live = _dbs(tmp_path)
    body = "33010619850302123"  # a valid number: a batch of bad ones is rejected outright
    valid = body + check_char(body)
    rows = [_row(f"P{n}").replace("330106198503021234", valid) for n in range(40)]
    _land(landing, "police_hukou_20261001.csv", rows)
    (first,) = ingest_dataset(work, live, HUKOU, landing, "run1")
    assert first.status == "applied"
    path = _land(landing, "police_hukou_20261101.csv", rows[:30])
    with caplog.at_level(logging.INFO, logger="siheyuan.ingest"):
        outcomes = ingest_dataset(work, live, HUKOU, landing, "run2")
    assert [(o.file_name, o.status) for o in outcomes][-1] == (path.name, "applied")
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "siheyuan.ingest"
    ]
    assert warnings == [
        f"{path.name}: check row_count_drop failed (reported, not blocking): 30 rows "
        "(threshold: at least 32 rows (previous snapshot 40 rows, max drop 20%))"
    ]


def test_quarantine_rows_stored_before_the_key_hash_get_it_when_the_key_was_not_masked(
    tmp_path: Path,
) -> None:
    """An upgraded warehouse keeps carrying forward what it carried forward before."""
    db = tmp_path / "old.duckdb"
    initialise(db, CONTRACTS)
    with duckdb.connect(str(db)) as conn:
        conn.execute(
            "INSERT INTO meta.quarantine (batch_id, dataset, file_name, row_number, source_key, "
            "reason_code, reason, run_id, recorded_at) VALUES "
            "('b', 'police_hukou', 'f.csv', 2, '3301060000000001', 'missing_required', 'r', 'r1', "
            "now()), ('b', 'hr_insured', 'g.csv', 3, '330106********1234', 'missing_required', "
            "'r', 'r1', now())"
        )
        id_key = warehouse_id_key(conn)
    initialise(db, CONTRACTS)  # what every run does to its working copy
    with duckdb.connect(str(db)) as conn:
        hashes = conn.execute(
            "SELECT source_key, source_key_hash FROM meta.quarantine ORDER BY row_number"
        ).fetchall()
    assert hashes == [
        ("3301060000000001", key_hash(id_key, "3301060000000001")),
        ("330106********1234", None),  # masked: it never matched a key, and still does not
    ]


def test_a_file_refused_for_good_is_set_aside_and_blocks_no_later_batch(tmp_path: Path) -> None:
    """Older than what is applied: refused once, then left out of every run with a warning."""
    from siheyuan.runner import plan
    from siheyuan.settings import WarehouseLayout

    landing = tmp_path / "landing"
    layout = WarehouseLayout(tmp_path / "wh")
    work = tmp_path / "work.duckdb"
    initialise(work, CONTRACTS)
    initialise(layout.database, CONTRACTS)
    _land(landing, "police_hukou_20261001.csv", [_row("P1"), _row("P2")])
    (first,) = ingest_dataset(work, layout.database, HUKOU, landing, "run1")
    assert first.status == "applied"
    shutil.copy(work, layout.database)  # run1 published: its working copy is the live database
    old = _land(landing, "police_hukou_20260901.csv", [_row("P1")])
    (refused,) = ingest_dataset(work, layout.database, HUKOU, landing, "run2")
    assert (refused.file_name, refused.status, refused.reason_code) == (
        old.name,
        "rejected",
        "out_of_order",
    )
    shutil.copy(layout.database, work)  # run3 works on a copy of the live database
    newer = _land(landing, "police_hukou_20261101.csv", [_row("P1"), _row("P3")])
    planned = plan(landing, layout)
    assert [f.file_name for f in planned.new] == [newer.name]
    (set_aside,) = planned.unrecognised
    assert set_aside.path == old and "remove it from the landing folder" in set_aside.reason
    outcomes = ingest_dataset(work, layout.database, HUKOU, landing, "run3")
    assert {o.file_name: o.status for o in outcomes if o.status != "duplicate"} == {
        newer.name: "applied"  # the refused file is not judged again, and blocks nothing
    }
