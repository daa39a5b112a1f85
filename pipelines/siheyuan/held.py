"""Files held back by a rejected run: good batches whose work was thrown away with the run.

A run is all or nothing: when one file is rejected, nothing of the run is published, and the
other files' ingest happened in the working copy that is discarded. Those files were not refused
— they wait for the next run — but without a record they would vanish from every report for that
run. So the runner records them in the *live* database, in ``meta.held`` (not in ``meta.batch``:
a held file has no outcome yet, and the registry's ``status`` values are a contract with
auditors' tools). The next run that is not rejected applies them like any new file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from siheyuan.landing import LandedFile
from siheyuan.quality.privacy import mask_text
from siheyuan.runlock import RunLock
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import connect, ensure_meta, table_exists

HELD_DDL = """
CREATE TABLE IF NOT EXISTS meta.held (
    run_id VARCHAR NOT NULL,          -- the rejected run
    dataset VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    extract_date DATE NOT NULL,
    seq INTEGER NOT NULL,
    because_of VARCHAR NOT NULL,      -- the rejected file(s) that stopped the run
    reason VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
"""


def held_reason(rejected_files: list[str]) -> str:
    return f"not applied: the run was rejected because of {', '.join(rejected_files)}"


def record_held(
    layout: WarehouseLayout, run_id: str, files: list[LandedFile], rejected_files: list[str]
) -> list[dict[str, Any]]:
    """Record ``files`` as held back by run ``run_id``; the entries, as ``read_held`` gives them.

    Called after the run ended (its lock released): takes the run lock again for the write.
    """
    reason = mask_text(held_reason(rejected_files)) or ""
    because = ", ".join(rejected_files)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        [run_id, f.dataset, f.file_name, f.sha256, f.extract_date, f.seq, because, reason, now]
        for f in files
    ]
    if rows:
        with RunLock(layout.lock_file), connect(layout.database) as conn:
            ensure_meta(conn)
            conn.execute(HELD_DDL)
            conn.executemany("INSERT INTO meta.held VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("CHECKPOINT")
    return [_entry(r) for r in rows]


_COLUMNS = (
    "run_id",
    "dataset",
    "file_name",
    "file_sha256",
    "extract_date",
    "seq",
    "because_of",
    "reason",
    "recorded_at",
)


def _entry(row: list | tuple) -> dict[str, Any]:
    entry = dict(zip(_COLUMNS, row, strict=True))
    entry["reason"] = mask_text(entry["reason"])
    return entry


def read_held(conn: duckdb.DuckDBPyConnection, run_id: str | None = None) -> list[dict[str, Any]]:
    """Held files (of one run, or of every run), oldest first; none before any run held one."""
    if not table_exists(conn, "meta", "held"):
        return []
    rows = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM meta.held "
        + ("WHERE run_id = ? " if run_id else "")
        + "ORDER BY recorded_at, extract_date, seq, file_name",
        [run_id] if run_id else [],
    ).fetchall()
    return [_entry(r) for r in rows]
