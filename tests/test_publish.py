"""Publishing is atomic: a crashed run is repaired to the last committed version."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
from siheyuan.contracts import load_contracts
from siheyuan.publish import discard_work, prune, read_current, recover, set_current
from siheyuan.runlock import RunLock, WarehouseBusy
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import initialise


def _warehouse(tmp_path: Path, recorded: list[str], folders: list[str]) -> WarehouseLayout:
    layout = WarehouseLayout(tmp_path / "wh")
    initialise(layout.database, load_contracts())
    with duckdb.connect(str(layout.database)) as conn:
        for n, version in enumerate(recorded, start=1):
            conn.execute(
                "INSERT INTO meta.publish VALUES (?, ?, 'r', ?, [], ?)",
                [version, n, datetime(2026, 11, 1), json.dumps({})],
            )
    for name in folders:
        (layout.published / name).mkdir(parents=True)
        (layout.published / name / "resident.parquet").write_bytes(b"x")
    return layout


def test_crash_after_the_database_swap_rolls_current_forward(tmp_path: Path) -> None:
    layout = _warehouse(tmp_path, ["v000001", "v000002"], ["v000001", "v000002"])
    set_current(layout, "v000001")
    actions = recover(layout)
    assert read_current(layout) == "v000002"
    assert any("rolled forward" in a for a in actions)


def test_crash_before_the_swap_discards_the_uncommitted_version(tmp_path: Path) -> None:
    layout = _warehouse(tmp_path, ["v000001"], ["v000001", "v000002", ".v000003.partial"])
    set_current(layout, "v000001")
    layout.work_dir.mkdir()
    (layout.work_dir / "run.duckdb").write_bytes(b"half a database")
    recover(layout)
    assert read_current(layout) == "v000001"
    assert sorted(p.name for p in layout.published.iterdir()) == ["CURRENT", "v000001"]
    assert list(layout.work_dir.iterdir()) == []


def test_recover_on_a_consistent_warehouse_does_nothing(tmp_path: Path) -> None:
    layout = _warehouse(tmp_path, ["v000001"], ["v000001"])
    set_current(layout, "v000001")
    assert recover(layout) == []


def test_current_is_one_line_naming_the_version(tmp_path: Path) -> None:
    layout = _warehouse(tmp_path, [], [])
    layout.published.mkdir(parents=True, exist_ok=True)
    set_current(layout, "v000007")
    assert layout.current_pointer.read_text() == "v000007\n"
    assert [p.name for p in layout.published.iterdir()] == ["CURRENT"]  # no temp file left


def test_prune_keeps_the_newest_and_never_current(tmp_path: Path) -> None:
    names = [f"v{n:06d}" for n in range(1, 6)]
    layout = _warehouse(tmp_path, names, names)
    set_current(layout, "v000001")
    removed = prune(layout, keep=2)
    assert removed == ["v000002", "v000003"]
    assert sorted(p.name for p in layout.published.glob("v*")) == ["v000001", "v000004", "v000005"]


def test_one_run_at_a_time(tmp_path: Path) -> None:
    lock_path = tmp_path / ".run.lock"
    with RunLock(lock_path):
        other = RunLock(lock_path)
        try:
            other.acquire()
            raise AssertionError("a second run took the lock")
        except WarehouseBusy as exc:
            assert "another run" in str(exc)
    with RunLock(lock_path):  # released again
        pass


def test_recover_without_a_database_never_deletes_published_versions(tmp_path: Path) -> None:
    layout = _warehouse(tmp_path, ["v000001"], ["v000001"])
    set_current(layout, "v000001")
    layout.database.unlink()
    recover(layout)
    assert (layout.published / "v000001" / "resident.parquet").exists()
    assert read_current(layout) == "v000001"


def test_an_interrupted_prune_is_cleaned_up(tmp_path: Path) -> None:
    layout = _warehouse(tmp_path, ["v000001"], ["v000001", ".v000000.deleting"])
    set_current(layout, "v000001")
    recover(layout)
    assert sorted(p.name for p in layout.published.iterdir()) == ["CURRENT", "v000001"]


def test_a_killed_runs_working_copy_is_removed_whole_and_said_to_be_a_crash(
    tmp_path: Path,
) -> None:
    layout = _warehouse(tmp_path, ["v000001"], ["v000001"])
    set_current(layout, "v000001")
    layout.work_dir.mkdir()
    layout.working_database.write_bytes(b"a working copy")
    layout.working_database.with_name("working.duckdb.wal").write_bytes(b"its log")
    (layout.work_dir / "working.duckdb.tmp").mkdir()  # DuckDB's spill folder
    (layout.work_dir / "working.duckdb.tmp" / "spill.block").write_bytes(b"x")
    layout.working_marker.write_text("run-1", encoding="utf-8")
    actions = recover(layout)
    assert list(layout.work_dir.iterdir()) == []
    assert [a for a in actions if "working file" in a] == [
        f"removed working file {name} of an unfinished run (killed or crashed)"
        for name in ("working.duckdb", "working.duckdb.tmp", "working.duckdb.wal")
    ]


def test_discard_work_names_the_data_files_not_the_marker(tmp_path: Path) -> None:
    layout = WarehouseLayout(tmp_path / "wh")
    assert discard_work(layout) == []  # no work folder yet
    layout.work_dir.mkdir(parents=True)
    layout.working_database.write_bytes(b"a working copy")
    layout.working_marker.write_text("run-1", encoding="utf-8")
    assert discard_work(layout) == ["working.duckdb"]
    assert list(layout.work_dir.iterdir()) == []
