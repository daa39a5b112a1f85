"""Write a published version and make it current, so that no reader ever sees half of one.

The order of a publish is the whole guarantee:

1. every table is written to ``published/.<version>.partial/`` with a manifest, then the folder is
   renamed to ``published/<version>/`` (a rename is atomic on one file system);
2. the version is recorded in the run's working database, which then *replaces* the live database
   (``os.replace``) — this is the commit point: batches count as applied only from here;
3. ``published/CURRENT`` is rewritten through a temporary file and a rename.

A crash before 2 leaves an orphan folder that the next run deletes, and the batches are applied
again. A crash between 2 and 3 is rolled forward by the next run (``recover``), which points
CURRENT at the version the live database says was published.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from siheyuan.faults import crash_point
from siheyuan.landing import file_sha256
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import connect, table_exists, warehouse_id_key

log = logging.getLogger(__name__)

# The consumer contract (shared/specs/department-extracts.md, "What the hub publishes").
CONTRACT_TABLES: tuple[str, ...] = (
    "resident",
    "household",
    "household_member",
    "building",
    "resident_source_xref",
)
MARTS_SCHEMA = "marts"
# Every published table and the relation it is written from: the contract's marts (dbt), the id
# history (siheyuan.stable_ids, kept in meta). Columns that only the warehouse needs (when an
# event was recorded) are left out, so the same data gives the same files.
TABLE_SOURCES: dict[str, str] = {
    **{t: f'{MARTS_SCHEMA}."{t}"' for t in CONTRACT_TABLES},
    # golden-record lineage (docs/survivorship.md), findings and tags (docs/findings.md)
    **{
        t: f'{MARTS_SCHEMA}."{t}"'
        for t in (
            "resident_attribute_lineage",
            "resident_attribute_conflict",
            "finding",
            "resident_tag",
        )
    },
    # history and the change feed (siheyuan.history, docs/history.md)
    **{
        t: f'history."{t}"'
        for t in (
            "resident_history",
            "household_history",
            "household_member_history",
            "resident_change",
        )
    },
    "resident_id_history": (
        "(SELECT version_number, old_resident_id, new_resident_id, event, record_count, reason "
        "FROM meta.resident_id_history)"
    ),
}
PUBLISHED_TABLES: tuple[str, ...] = tuple(TABLE_SOURCES)
# dbt models among them (what the Dagster publish asset depends on)
MART_TABLES: tuple[str, ...] = tuple(
    t for t, src in TABLE_SOURCES.items() if src.startswith(f"{MARTS_SCHEMA}.")
)
# Rows are written in key order, so the same content gives byte-identical files (and hashes).
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "resident": ("resident_id",),
    "household": ("household_id",),
    "household_member": ("household_id", "resident_id"),
    "building": ("building_id",),
    "resident_source_xref": ("source_dataset", "source_key"),
    "resident_id_history": ("version_number", "event", "old_resident_id", "new_resident_id"),
    "resident_history": ("resident_id", "valid_from_version"),
    "household_history": ("household_id", "valid_from_version"),
    "household_member_history": ("household_id", "resident_id", "valid_from_version"),
    "resident_change": ("version_number", "resident_id", "change_kind"),
    "resident_attribute_lineage": ("resident_id", "attribute"),
    "resident_attribute_conflict": ("resident_id", "attribute", "source_dataset", "source_key"),
    "finding": ("finding_id",),
    "resident_tag": ("resident_id", "tag"),
}
MANIFEST = "_manifest.json"
AUDIT_FILE = "audit.json"


@dataclass(frozen=True)
class PublishedVersion:
    version: str
    number: int
    path: Path
    table_rows: dict[str, int]
    batch_ids: list[str]


def version_name(number: int) -> str:
    return f"v{number:06d}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_current(layout: WarehouseLayout) -> str | None:
    try:
        value = layout.current_pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return value or None


def set_current(layout: WarehouseLayout, version: str) -> None:
    """Atomically point CURRENT at ``version`` (temp file, fsync, rename, fsync the folder)."""
    tmp = layout.published / f".CURRENT.{os.getpid()}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(version + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, layout.current_pointer)
    _fsync_dir(layout.published)


def _run_batch_ids(conn: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT batch_id FROM meta.batch WHERE run_id = ? AND status = 'applied' "
        "ORDER BY apply_seq",
        [run_id],
    ).fetchall()
    return [r[0] for r in rows]


def run_batch_ids(working_db: Path, run_id: str) -> list[str]:
    """The batches this run applied (empty: nothing new to publish)."""
    with connect(working_db, read_only=True) as conn:
        return _run_batch_ids(conn, run_id)


def version_as_of(conn: duckdb.DuckDBPyConnection) -> date | None:
    """A version's business date: the newest extract date among the applied batches.

    Why not the clock: history and the change feed must say when something was true in the
    departments' data, and a re-run of the same data must give the same history.
    """
    row = conn.execute(
        "SELECT max(extract_date) FROM meta.batch WHERE status = 'applied'"
    ).fetchone()
    return row[0] if row else None


def prepare_version(conn: duckdb.DuckDBPyConnection, number: int) -> None:
    """What a version adds beyond the marts, in the working database before it is written.

    The id map and id events (stable_ids), so the next run's clusters inherit this version's ids;
    then the history of resident, household and membership and the change feed (history), as of
    the version's business date.
    """
    from siheyuan.history import record_version
    from siheyuan.stable_ids import commit_ids

    events = commit_ids(conn, number)
    log.info("resident id events in this version: %d", events)
    as_of = version_as_of(conn)
    if as_of is None:  # a publish always follows an applied batch; a guard, not a path
        raise RuntimeError("no applied batch: a version has no business date")
    record_version(conn, number, as_of)


def write_version(layout: WarehouseLayout, working_db: Path, run_id: str) -> PublishedVersion:
    """Steps 1 and the record of step 2: export the marts into a complete version folder."""
    layout.published.mkdir(parents=True, exist_ok=True)
    with connect(working_db) as conn:
        row = conn.execute(
            "SELECT coalesce(max(version_number), 0) + 1 FROM meta.publish"
        ).fetchone()
        number = int(row[0]) if row else 1
        version = version_name(number)
        partial = layout.published / f".{version}.partial"
        final = layout.published / version
        for stale in (partial, final):
            if stale.exists():  # leftovers of a crashed run that never committed
                shutil.rmtree(stale)
        partial.mkdir(parents=True)
        table_rows: dict[str, int] = {}
        files: dict[str, str] = {}
        prepare_version(conn, number)
        for table in PUBLISHED_TABLES:
            target = partial / f"{table}.parquet"
            source = TABLE_SOURCES[table]
            order = ", ".join(TABLE_KEYS[table])
            conn.execute(
                f"COPY (SELECT * FROM {source} ORDER BY {order}) "
                f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
            )
            count = conn.execute(f"SELECT count(*) FROM {source}").fetchone()
            table_rows[table] = int(count[0]) if count else 0
            files[table] = file_sha256(target)
            crash_point("publish.mid_parquet")
        # the per-consumer views (access_policy.yml), from the files just written; (the audit
        # reads report, which reads publish: imported here, not at the top)
        from siheyuan.audit import record_publish
        from siheyuan.consumer_views import write_views

        as_of = version_as_of(conn)
        if as_of is None:  # prepare_version raised already; a guard for the type checker
            raise RuntimeError("no applied batch: a version has no business date")
        views = write_views(partial, warehouse_id_key(conn), as_of)
        batch_ids = [
            r[0]
            for r in conn.execute(
                "SELECT batch_id FROM meta.batch WHERE status = 'applied' ORDER BY apply_seq"
            ).fetchall()
        ]
        published_at = datetime.now(UTC).replace(tzinfo=None)
        # the audit trail: appended to meta.publish_audit (committed with the database swap)
        # and kept beside the tables, so a version folder says how it was made on its own
        audit_record = record_publish(
            conn, version, number, run_id, published_at, batch_ids, table_rows
        )
        audit_path = partial / AUDIT_FILE
        audit_path.write_text(json.dumps(audit_record, ensure_ascii=False, indent=2), "utf-8")
        crash_point("publish.after_views")
        manifest = {
            "version": version,
            "version_number": number,
            "published_at": published_at.isoformat(timespec="seconds") + "Z",
            "run_id": run_id,
            "tables": {
                t: {"file": f"{t}.parquet", "rows": table_rows[t], "sha256": files[t]}
                for t in PUBLISHED_TABLES
            },
            "views": views,
            "audit": {"file": AUDIT_FILE, "sha256": file_sha256(audit_path)},
            "batches_in_this_version": batch_ids,
            "batches_new_in_this_run": _run_batch_ids(conn, run_id),
        }
        manifest_path = partial / MANIFEST
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
        for path in sorted(partial.rglob("*")):  # the tables, the manifest, the views
            if path.is_dir():
                _fsync_dir(path)
            else:
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
        _fsync_dir(partial)
        crash_point("publish.before_rename")
        os.rename(partial, final)
        _fsync_dir(layout.published)
        crash_point("publish.before_record")
        conn.execute(
            "INSERT INTO meta.publish VALUES (?, ?, ?, ?, ?, ?)",
            [version, number, run_id, published_at, batch_ids, json.dumps(table_rows)],
        )
        conn.execute("CHECKPOINT")
    return PublishedVersion(version, number, final, table_rows, batch_ids)


def registry_changed(working_db: Path, run_id: str) -> int:
    """How many registry rows this run recorded (duplicates of applied content, for example)."""
    with connect(working_db, read_only=True) as conn:
        row = conn.execute("SELECT count(*) FROM meta.batch WHERE run_id = ?", [run_id]).fetchone()
    return int(row[0]) if row else 0


def commit_registry(layout: WarehouseLayout, working_db: Path) -> None:
    """Swap in a working database whose data did not change (only registry rows were added)."""
    with connect(working_db) as conn:
        conn.execute("CHECKPOINT")
    _swap_in(layout, working_db)


def _swap_in(layout: WarehouseLayout, working_db: Path) -> None:
    """Replace the live database with the run's (the commit point of a run)."""
    wal = working_db.with_name(working_db.name + ".wal")
    if wal.exists():  # CHECKPOINT ran; a WAL here means the copy is not self-contained
        raise RuntimeError(f"working database {working_db.name} still has a WAL; not committing")
    os.replace(working_db, layout.database)
    _fsync_dir(layout.database.parent)


def commit(layout: WarehouseLayout, working_db: Path, version: PublishedVersion) -> None:
    """Step 2 (swap the working database in) and step 3 (point CURRENT at the version)."""
    crash_point("publish.before_swap")
    _swap_in(layout, working_db)
    crash_point("publish.before_current")
    set_current(layout, version.version)
    log.info("published %s", version.version)


@dataclass(frozen=True)
class PublishOutcome:
    version: PublishedVersion | None  # None: no batch applied, nothing published
    files_recorded: int  # registry rows this run added (duplicates, for example)
    pruned: list[str]


def _decisions_pending(working_db: Path) -> bool:
    """A steward decided a pair, or someone asked for a rebuild, since the last publish: the
    re-built marts are a new version although no batch is new."""
    from siheyuan.rebuild import pending_rebuilds
    from siheyuan.review import pending_decisions

    with connect(working_db, read_only=True) as conn:
        return pending_decisions(conn) > 0 or pending_rebuilds(conn) > 0


def publish_run(
    layout: WarehouseLayout, working_db: Path, run_id: str, keep: int
) -> PublishOutcome:
    """The whole publish of a run whose marts are built in ``working_db``, in its safe order.

    One function for the Dagster asset and the fault-injection tests, so the tests kill the very
    code a run executes.
    """
    crash_point("publish.before_write")
    if not run_batch_ids(working_db, run_id) and not _decisions_pending(working_db):
        # Replays recorded as duplicates still belong in the registry; the data did not change.
        recorded = registry_changed(working_db, run_id)
        if recorded:
            commit_registry(layout, working_db)
        else:
            working_db.unlink(missing_ok=True)
        return PublishOutcome(None, recorded, [])
    version = write_version(layout, working_db, run_id)
    commit(layout, working_db, version)
    return PublishOutcome(version, 0, prune(layout, keep))


def latest_recorded_version(layout: WarehouseLayout) -> str | None:
    if not layout.database.exists():
        return None
    with connect(layout.database) as conn:
        if not table_exists(conn, "meta", "publish"):
            return None
        row = conn.execute(
            "SELECT version FROM meta.publish ORDER BY version_number DESC LIMIT 1"
        ).fetchone()
    return row[0] if row else None


def discard_work(layout: WarehouseLayout) -> list[str]:
    """Delete everything in the work folder (a working database, its WAL and spill folder
    ``working.duckdb.tmp``, the run marker).

    Returns the names of the data files removed (the marker is bookkeeping, not worth a line).
    Call only while holding the run lock: the folder belongs to the run that holds it.
    """
    removed: list[str] = []
    if layout.work_dir.exists():
        for leftover in sorted(layout.work_dir.iterdir()):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
            if leftover != layout.working_marker:
                removed.append(leftover.name)
    return removed


def recover(layout: WarehouseLayout) -> list[str]:
    """Bring a warehouse left by a crashed run back to its last committed state.

    Returns what was done, for the run log. Call only while holding the run lock.
    """
    # A run that ends, published or not, removes its own working copy (the warehouse resource's
    # teardown): one found here was left by a run that was killed or crashed.
    actions = [
        f"removed working file {name} of an unfinished run (killed or crashed)"
        for name in discard_work(layout)
    ]
    recorded = latest_recorded_version(layout)
    if layout.published.exists():
        known: set[str] = set()
        if recorded:
            with connect(layout.database, read_only=True) as conn:
                known = {r[0] for r in conn.execute("SELECT version FROM meta.publish").fetchall()}
        current = read_current(layout)
        for entry in layout.published.iterdir():
            if entry.name.endswith((".partial", ".deleting")):
                shutil.rmtree(entry)
                actions.append(f"removed {entry.name}, left by an interrupted run")
            elif (
                recorded  # without a record of versions, nothing can be called an orphan
                and entry.is_dir()
                and entry.name.startswith("v")
                and entry.name not in known
                and entry.name != current
            ):
                shutil.rmtree(entry)
                actions.append(f"removed {entry.name}, written by a run that never committed")
            elif entry.name.startswith(".CURRENT.") and entry.name.endswith(".tmp"):
                entry.unlink()
    if recorded and read_current(layout) != recorded and (layout.published / recorded).is_dir():
        set_current(layout, recorded)
        actions.append(f"CURRENT rolled forward to {recorded}, committed before a crash")
    return actions


def prune(layout: WarehouseLayout, keep: int) -> list[str]:
    """Delete the oldest version folders beyond ``keep`` (never the current one)."""
    current = read_current(layout)
    versions = sorted(
        p.name for p in layout.published.iterdir() if p.is_dir() and p.name.startswith("v")
    )
    removed: list[str] = []
    for name in versions[: max(0, len(versions) - max(keep, 1))]:
        if name != current:
            # rename first: a crash mid-delete leaves a .deleting folder, never half a version
            doomed = layout.published / f".{name}.deleting"
            os.rename(layout.published / name, doomed)
            crash_point("prune.mid_delete")
            shutil.rmtree(doomed)
            removed.append(name)
    return removed
