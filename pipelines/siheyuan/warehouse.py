"""The embedded DuckDB warehouse: its bookkeeping tables and the working copy a run writes to.

A run never writes the live database. It copies it to ``work/<run_id>.duckdb``, applies batches and
builds the models there, and only a complete publish swaps the copy in (see ``publish.py``). A crash
at any point therefore leaves the live database and ``published/CURRENT`` on the last good version.

DuckDB allows one writer across processes, and dbt runs in a subprocess: every function here opens
a connection, uses it and closes it; nothing holds one across a dbt call.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb

from siheyuan.contracts import SourceContract

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_batch_id", "VARCHAR NOT NULL"),
    ("_apply_seq", "BIGINT NOT NULL"),
    ("_extract_date", "DATE NOT NULL"),
    ("_file_name", "VARCHAR NOT NULL"),
    ("_file_sha256", "VARCHAR NOT NULL"),
    ("_row_number", "BIGINT NOT NULL"),
    ("_ingested_at", "TIMESTAMP NOT NULL"),
    ("_source_key", "VARCHAR NOT NULL"),
    ("_op", "VARCHAR"),
)

META_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS meta.settings (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS meta.batch (
    batch_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    department VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    extract_date DATE NOT NULL,
    seq INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    apply_seq BIGINT,
    status VARCHAR NOT NULL,          -- applied | rejected | duplicate
    reason_code VARCHAR,
    reason VARCHAR,
    rows_received BIGINT,
    rows_accepted BIGINT,
    rows_quarantined BIGINT,
    rows_duplicate BIGINT,
    run_id VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS meta.quarantine (
    batch_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    source_key VARCHAR,
    reason_code VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    source_key_hash VARCHAR
);
CREATE TABLE IF NOT EXISTS meta.check_result (
    run_id VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    check_name VARCHAR NOT NULL,      -- intake, structure, quarantine_share, row_count_change, or a
                                      -- check of expectations/<dataset>.yml (e.g. id_number_valid)
    layer VARCHAR NOT NULL,           -- batch | structural (pandera) | semantic (GX)
    blocking BOOLEAN NOT NULL,
    passed BOOLEAN NOT NULL,
    overridden BOOLEAN NOT NULL DEFAULT false,
    observed VARCHAR,                 -- masked: never a full ID number, phone or condition
    threshold VARCHAR,
    detail VARCHAR,
    recorded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS meta.override (
    dataset VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    check_name VARCHAR NOT NULL,      -- the blocking check this batch may pass despite failing
    accepted_by VARCHAR NOT NULL,
    accepted_at TIMESTAMP NOT NULL,
    reason VARCHAR NOT NULL
);
-- A data steward's decision on a pair of source records (siheyuan review): applied by every
-- later run's linking step, kept across re-runs and re-trains; the latest row for a pair wins.
-- Records are named by dataset and keyed hash (key_hash), never by a readable key.
CREATE TABLE IF NOT EXISTS meta.link_decision (
    pair_id VARCHAR NOT NULL,
    left_dataset VARCHAR NOT NULL,
    left_key_hash VARCHAR NOT NULL,
    right_dataset VARCHAR NOT NULL,
    right_key_hash VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,        -- must_link | cannot_link
    decided_by VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    reason VARCHAR NOT NULL
);
-- Database sources (siheyuan.db_sources): one row per pull, its lineage — which variable named
-- the connection (the URL is stored with its password masked), the query, its lower bound,
-- when — keyed by the batch id its rows carry in raw.<dataset>.
CREATE TABLE IF NOT EXISTS meta.pull (
    batch_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,       -- the pull's name in the ledger: <dataset>@db_<local time>
    url_env VARCHAR NOT NULL,
    source VARCHAR NOT NULL,          -- the URL, password masked
    query VARCHAR NOT NULL,
    watermark_from VARCHAR,           -- rows at or after this value were read (NULL: all)
    watermark_to VARCHAR,             -- the largest watermark value read
    pulled_at TIMESTAMP NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_already_pulled BIGINT NOT NULL,  -- re-read from the overlap window, pulled before
    rows_new BIGINT NOT NULL,
    seconds DOUBLE NOT NULL,
    status VARCHAR NOT NULL           -- applied | rejected
);
-- A delta source's high-water mark; moves only with a published batch.
CREATE TABLE IF NOT EXISTS meta.source_state (
    dataset VARCHAR PRIMARY KEY,
    watermark_kind VARCHAR,           -- date | datetime | text | number
    watermark_value VARCHAR,
    batch_id VARCHAR NOT NULL,
    pulled_at TIMESTAMP NOT NULL
);
-- Content hashes of the rows a delta source's next pull will re-read (its overlap window), so
-- rows pulled before are recognised and dropped; older ones are pruned after each pull.
CREATE TABLE IF NOT EXISTS meta.pulled_row (
    dataset VARCHAR NOT NULL,
    row_sha256 VARCHAR NOT NULL,
    watermark_kind VARCHAR NOT NULL,
    watermark_value VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL
);
-- Stable resident ids (siheyuan.stable_ids): the id each source record was last published
-- under, which the next run's clusters inherit, and every id event since the first publish.
CREATE TABLE IF NOT EXISTS meta.resident_record_id (
    source_dataset VARCHAR NOT NULL,
    source_key VARCHAR NOT NULL,
    resident_id VARCHAR NOT NULL,
    since_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta.resident_id_history (
    version_number INTEGER NOT NULL,
    old_resident_id VARCHAR NOT NULL,
    new_resident_id VARCHAR,
    event VARCHAR NOT NULL,
    record_count INTEGER NOT NULL,
    reason VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
-- Requests to republish the applied data after a configuration change (siheyuan.rebuild).
CREATE TABLE IF NOT EXISTS meta.rebuild_request (
    requested_at TIMESTAMP NOT NULL,
    requested_by VARCHAR NOT NULL,
    reason VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS meta.publish (
    version VARCHAR PRIMARY KEY,
    version_number INTEGER NOT NULL,
    run_id VARCHAR NOT NULL,
    published_at TIMESTAMP NOT NULL,
    batch_ids VARCHAR[] NOT NULL,
    table_rows JSON NOT NULL
);
"""


@contextlib.contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection (closed on exit, so dbt can take the file next)."""
    conn = duckdb.connect(str(path), read_only=read_only)
    try:
        yield conn
    finally:
        conn.close()


def table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def ensure_meta(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the bookkeeping schema, and the per-warehouse key for opaque ids, if missing."""
    conn.execute(META_DDL)
    # warehouses made before the column: the quarantine's join key (see key_hash)
    conn.execute("ALTER TABLE meta.quarantine ADD COLUMN IF NOT EXISTS source_key_hash VARCHAR")
    has_key = conn.execute("SELECT count(*) FROM meta.settings WHERE name = 'id_key'").fetchone()
    if not has_key or not has_key[0]:
        # Random per warehouse: ids are stable within it and cannot be reversed to ID numbers.
        conn.execute("INSERT INTO meta.settings VALUES ('id_key', ?)", [secrets.token_hex(32)])
    # Rows stored before the hash column: a key that was never masked is the key itself, so its
    # hash is exact (a masked one stays NULL — it could never be joined on, before or now).
    conn.execute(
        "UPDATE meta.quarantine SET source_key_hash = sha256("
        "(SELECT value FROM meta.settings WHERE name = 'id_key') || '|' || source_key) "
        "WHERE source_key_hash IS NULL AND source_key IS NOT NULL AND strpos(source_key, '*') = 0"
    )


def recorded_since_last_publish(conn: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """Rows of ``meta.<table>`` whose ``column`` (naive UTC) is after the last publish.

    Steward decisions and rebuild requests are pending until a publish: a run applies them even
    when no batch is new.
    """
    if not table_exists(conn, "meta", table):
        return 0
    row = conn.execute(
        f'SELECT count(*) FROM meta."{table}" WHERE "{column}" > '
        "coalesce((SELECT max(published_at) FROM meta.publish), TIMESTAMP '1900-01-01')"
    ).fetchall()
    return int(row[0][0])


def warehouse_id_key(conn: duckdb.DuckDBPyConnection) -> str:
    """The per-warehouse secret behind stable ids and key hashes (created by ensure_meta)."""
    row = conn.execute("SELECT value FROM meta.settings WHERE name = 'id_key'").fetchone()
    if not row or not row[0]:
        raise RuntimeError("meta.settings has no id_key: the warehouse was not initialised")
    return str(row[0])


def key_hash(id_key: str, source_key: str | None) -> str | None:
    """sha256(id_key | source_key): the quarantine's join key to raw rows.

    Why: ``meta.quarantine.source_key`` is masked for people (hr's key is an ID number, civil
    affairs' 家庭编号 looks like one), so it cannot be joined on; this keyed hash can — dbt
    computes the same expression (macro ``key_hash``) — without keeping the key readable.
    """
    if source_key is None:
        return None
    return hashlib.sha256(f"{id_key}|{source_key}".encode()).hexdigest()


def ensure_raw_table(conn: duckdb.DuckDBPyConnection, contract: SourceContract) -> str:
    """Create ``raw.<dataset>`` (lineage + every contract column as text); add new columns."""
    table = f'raw."{contract.dataset}"'
    cols = [f'"{name}" {ddl}' for name, ddl in LINEAGE_COLUMNS]
    cols += [f'"{c}" VARCHAR' for c in contract.column_names]
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(cols)})")
    existing = {
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ?",
            [contract.dataset],
        ).fetchall()
    }
    for c in contract.column_names:
        if c not in existing:
            conn.execute(f'ALTER TABLE {table} ADD COLUMN "{c}" VARCHAR')
    return table


def initialise(database: Path, contracts: dict[str, SourceContract]) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    with connect(database) as conn:
        ensure_meta(conn)
        for contract in contracts.values():
            ensure_raw_table(conn, contract)
        conn.execute("CHECKPOINT")


def make_working_copy(live: Path, working: Path) -> None:
    """Copy the live database for a run to write to (checkpointed first, so no WAL is lost)."""
    working.parent.mkdir(parents=True, exist_ok=True)
    for stale in (working, working.with_name(working.name + ".wal")):
        stale.unlink(missing_ok=True)
    if live.exists():
        with connect(live) as conn:
            conn.execute("CHECKPOINT")
        shutil.copy2(live, working)
