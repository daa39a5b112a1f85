"""A run killed at any point leaves CURRENT on the last complete version; the next run ends where
an uninterrupted run would have (same rows, same ids).

One small warehouse (round 1 published as v1) is the pre-crash state. Ids are keyed hashes with a
per-warehouse secret, so every comparison is against an uninterrupted run on a COPY of that same
warehouse. The expensive runs (ingest + dbt) are few: a ``kill -9`` of the process group while
the dbt subprocess builds (``SIHEYUAN_CRASH_AT=dbt.during_build``: deterministic, at dbt's first
event), then one at ``publish.before_write``, then a clean run on that crashed warehouse. The
publish's own crash points are then replayed on copies of the crashed warehouse, whose working
database already holds the built marts, by running only the publish in a child process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from siheyuan.faults import CRASH_ENV, CRASH_POINTS, crash_point
from siheyuan.generate import generate_sample
from siheyuan.publish import PUBLISHED_TABLES, read_current, recover
from siheyuan.runlock import RunLock
from siheyuan.runner import run_job
from siheyuan.settings import WarehouseLayout

pytestmark = pytest.mark.slow

PERSONS = 150
SEED = 23
SIHEYUAN = str(Path(sys.executable).parent / "siheyuan")

PUBLISH_ONLY = """
import sys
from pathlib import Path
from siheyuan.publish import publish_run
from siheyuan.settings import WarehouseLayout
layout = WarehouseLayout(Path(sys.argv[1]))
run_id = layout.working_marker.read_text(encoding="utf-8")
publish_run(layout, layout.working_database, run_id, keep=int(sys.argv[2]))
"""


def _tables(version_dir: Path) -> dict[str, list[tuple]]:
    """Every published table's rows, sorted (the files are written in key order anyway)."""
    out = {}
    for table in PUBLISHED_TABLES:
        t = pq.read_table(version_dir / f"{table}.parquet")
        rows = zip(*(t.column(c).to_pylist() for c in t.column_names), strict=True)
        out[table] = sorted(rows, key=repr)  # repr: rows may hold NULLs beside values
    return out


def _database_content(path: Path) -> dict[str, list[tuple]]:
    """Every table of a DuckDB file, rows sorted: equal content, whatever the file's bytes."""
    with duckdb.connect(str(path), read_only=True) as conn:
        names = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2"
        ).fetchall()
        return {
            f"{s}.{t}": sorted(conn.execute(f'SELECT * FROM "{s}"."{t}"').fetchall(), key=repr)
            for s, t in names
        }


def _published_tree(layout: WarehouseLayout) -> dict[str, bytes]:
    return {
        str(p.relative_to(layout.published)): p.read_bytes()
        for p in sorted(layout.published.rglob("*"))
        if p.is_file()
    }


def _state(layout: WarehouseLayout) -> tuple:
    """What a run starts from: the live database's content, the published versions, CURRENT."""
    return _database_content(layout.database), _published_tree(layout), read_current(layout)


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def _group_gone(pgid: int, deadline_s: float = 10.0) -> bool:
    """Whether the group is empty within the deadline: SIGKILL is delivered at once, but a
    process in uninterruptible I/O (an fsync on a slow disk) exits only when that returns."""
    deadline = time.monotonic() + deadline_s
    while _group_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _start_run(landing: Path, warehouse: Path, crash_at: str | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.Popen(
        [SIHEYUAN, "run", "--landing", str(landing), "--warehouse", str(warehouse)],
        env=env,
        start_new_session=True,  # its own process group: the kill takes dbt, and nothing else
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """v1 published from round 1; round 2 waiting in the landing folder; a clean reference."""
    root = tmp_path_factory.mktemp("faults")
    generate_sample(persons=PERSONS, seed=SEED, out=root / "sample", round_no=1)
    base = root / "base"
    assert run_job(root / "sample" / "landing", base).status == "published"
    generate_sample(persons=PERSONS, seed=SEED, out=root / "sample", round_no=2)
    reference = root / "reference"
    shutil.copytree(base, reference)
    report = run_job(root / "sample" / "landing", reference)
    assert report.status == "published" and report.version == "v000002"
    return {"landing": root / "sample" / "landing", "base": base, "reference": reference}


@pytest.fixture(scope="module")
def crashed(world: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base warehouse after a kill during dbt and then a kill -9 just before publishing."""
    warehouse = tmp_path_factory.mktemp("crashed") / "wh"
    shutil.copytree(world["base"], warehouse)
    layout = WarehouseLayout(warehouse)
    before = _state(layout)

    # 1. kill -9 of the whole process group while the dbt subprocess is building (its first
    #    event): deterministic, unlike a timer, and the dbt child must die with the run.
    proc = _start_run(world["landing"], warehouse, crash_at="dbt.during_build")
    out = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == -signal.SIGKILL, out
    assert _group_gone(proc.pid), "a process of the run (dbt?) outlived the kill"
    assert layout.working_database.exists()  # the kill really hit a run in progress
    assert _state(layout) == before  # live database, versions and CURRENT untouched

    # 2. deterministic: the next run recovers, then dies (group SIGKILL) before publishing.
    proc = _start_run(world["landing"], warehouse, crash_at="publish.before_write")
    out = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == -signal.SIGKILL, out
    assert _state(layout) == before
    return warehouse


def test_a_killed_run_then_a_clean_run_ends_where_an_uninterrupted_run_did(
    world: dict[str, Path], crashed: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh"
    shutil.copytree(crashed, warehouse)
    report = run_job(world["landing"], warehouse)
    assert report.status == "published", report.message
    assert read_current(WarehouseLayout(warehouse)) == "v000002"
    published = WarehouseLayout(warehouse).published
    assert sorted(p.name for p in published.iterdir()) == ["CURRENT", "v000001", "v000002"]
    ref = WarehouseLayout(world["reference"]).published
    assert _tables(published / "v000002") == _tables(ref / "v000002")
    assert _tables(published / "v000001") == _tables(ref / "v000001")
    # every row of every batch still accounted for, as in the uninterrupted run
    with duckdb.connect(str(WarehouseLayout(warehouse).database), read_only=True) as conn:
        ledger = conn.execute(
            "SELECT file_name, status, rows_received, rows_accepted + rows_quarantined + "
            "rows_duplicate FROM meta.batch ORDER BY file_name"
        ).fetchall()
    assert ledger and all(received == total for _, _, received, total in ledger)
    assert [r[:2] for r in ledger] == [r[:2] for r in _ledger(world["reference"])]


UNCOMMITTED_POINTS = [
    "publish.before_write",
    "publish.mid_parquet",
    "publish.after_views",
    "publish.before_rename",
    "publish.before_record",
    "publish.before_swap",
]


def _crash_publish(warehouse: Path, point: str, keep: int = 10) -> None:
    env = {**os.environ, CRASH_ENV: point}
    proc = subprocess.run(
        [sys.executable, "-c", PUBLISH_ONLY, str(warehouse), str(keep)],
        env=env,
        start_new_session=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()


@pytest.mark.parametrize("point", UNCOMMITTED_POINTS)
def test_a_crash_before_the_commit_point_leaves_the_previous_version(
    world: dict[str, Path], crashed: Path, tmp_path: Path, point: str
) -> None:
    warehouse = tmp_path / "wh"
    shutil.copytree(crashed, warehouse)
    layout = WarehouseLayout(warehouse)
    before = _state(layout)
    _crash_publish(warehouse, point)
    assert read_current(layout) == "v000001"
    assert _database_content(layout.database) == before[0]
    with RunLock(layout.lock_file):
        recover(layout)
    # Back exactly where the crashed run started: the next run is the same run again.
    assert _state(layout) == before
    assert not layout.working_database.exists()


def test_a_crash_after_the_database_swap_rolls_forward_to_the_same_version(
    world: dict[str, Path], crashed: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh"
    shutil.copytree(crashed, warehouse)
    layout = WarehouseLayout(warehouse)
    _crash_publish(warehouse, "publish.before_current")
    assert read_current(layout) == "v000001"  # readers still see the complete v1
    with RunLock(layout.lock_file):
        actions = recover(layout)
    assert any("rolled forward" in a for a in actions)
    assert read_current(layout) == "v000002"
    ref = WarehouseLayout(world["reference"]).published / "v000002"
    assert _tables(layout.published / "v000002") == _tables(ref)
    assert _same_batches(layout.database, world["reference"] / "siheyuan.duckdb")


def _ledger(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse / "siheyuan.duckdb"), read_only=True) as conn:
        return conn.execute(
            "SELECT file_name, status, rows_received FROM meta.batch ORDER BY file_name"
        ).fetchall()


def _same_batches(a: Path, b: Path) -> bool:
    """The same files applied in the same order (run ids and times differ between warehouses)."""
    query = "SELECT file_name, file_sha256, status, apply_seq FROM meta.batch ORDER BY 1, 2"
    with duckdb.connect(str(a), read_only=True) as ca, duckdb.connect(str(b), read_only=True) as cb:
        return ca.execute(query).fetchall() == cb.execute(query).fetchall()


def test_a_crash_while_pruning_leaves_only_complete_versions(
    world: dict[str, Path], crashed: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh"
    shutil.copytree(crashed, warehouse)
    layout = WarehouseLayout(warehouse)
    _crash_publish(warehouse, "prune.mid_delete", keep=1)
    assert read_current(layout) == "v000002"  # committed before the prune began
    with RunLock(layout.lock_file):
        recover(layout)
    assert sorted(p.name for p in layout.published.iterdir()) == ["CURRENT", "v000002"]
    ref = WarehouseLayout(world["reference"]).published / "v000002"
    assert _tables(layout.published / "v000002") == _tables(ref)


def test_crash_points_are_no_ops_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CRASH_ENV, raising=False)
    for point in CRASH_POINTS:
        crash_point(point)  # would kill pytest if it fired
    monkeypatch.setenv(CRASH_ENV, "publish.before_current")
    crash_point("publish.before_swap")  # another point: no-op
    monkeypatch.setenv(CRASH_ENV, "publish.typo")
    with pytest.raises(ValueError, match="not a crash point"):
        crash_point("publish.before_swap")
