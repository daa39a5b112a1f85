"""Type-2 (slowly changing) history of the published marts, recorded at every publish.

Department systems store ``resident_id`` / ``household_id`` and ask questions about the past
("who lived in building X on 1 October?"). The marts only hold the present, so every publish
keeps a versioned copy: ``history.resident_history``, ``history.household_history`` and
``history.household_member_history`` carry every column of their mart plus

* ``valid_from`` / ``valid_to`` — the half-open business-date interval ``[valid_from, valid_to)``
  in which the row was the published state (``valid_to`` NULL: still current);
* ``valid_from_version`` / ``valid_to_version`` — the same interval in publish versions;
* ``is_current`` and ``row_hash`` (MD5 of every non-null column, see :func:`hash_expression`).

Dates are the version's business date (the newest extract date applied), never the wall clock:
re-publishing a steward's decision on the same data gives a second version with the same date,
which closes the superseded row with an empty date interval ``[D, D)`` — the version columns
still tell the two apart. Everything is set-based SQL on the run's working database, so a
failed publish leaves no trace (the working database is discarded) and a million residents take
seconds (docs/history.md has the measurements).

Before the history moves, :mod:`siheyuan.change_feed` compares the new ``marts.resident`` with
the current history rows and appends the version's ``history.resident_change`` rows.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from siheyuan.settings import ConfigurationError

log = logging.getLogger(__name__)

SETTINGS_PATH = Path(__file__).with_name("history.yml")
SCHEMA = "history"
# Columns history adds to every mart row; a mart column of one of these names is refused.
BOOKKEEPING = ("valid_from", "valid_to", "valid_from_version", "valid_to_version", "is_current")
HASH_COLUMN = "row_hash"
HISTORY_COLUMNS = (*BOOKKEEPING, HASH_COLUMN)

LOG_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.recorded_version (
    version_number INTEGER NOT NULL,
    as_of DATE NOT NULL,          -- as passed by publish
    valid_from DATE NOT NULL,     -- the date history used (as_of, never before the last one)
    recorded_at TIMESTAMP NOT NULL,
    rows_opened BIGINT NOT NULL,  -- history rows opened / closed, all three tables
    rows_closed BIGINT NOT NULL,
    changes BIGINT NOT NULL       -- resident_change rows appended
)
"""


class TableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mart: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    history: str = Field(pattern=r"^[a-z_]+$")
    key: list[str] = Field(min_length=1)


class HistorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(1, ge=1, le=1)
    tables: dict[str, TableSpec]
    feed_ignored_columns: list[str] = Field(default_factory=list)
    hukou_dataset: str


def load_settings(path: Path = SETTINGS_PATH) -> HistorySettings:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        settings = HistorySettings.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        first = str(exc).strip().splitlines()
        raise ConfigurationError(f"{path}: {' '.join(first[:3])}") from exc
    if "resident" not in settings.tables:
        raise ConfigurationError(f"{path}: tables must include resident (the change feed's mart)")
    return settings


@cache
def history_settings() -> HistorySettings:
    return load_settings()


@dataclass(frozen=True)
class TableResult:
    """What one version did to one history table."""

    opened: int
    closed: int
    added_columns: tuple[str, ...]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def columns(conn: duckdb.DuckDBPyConnection, qualified: str) -> dict[str, str]:
    """Column name → DuckDB type, in table order (empty when the table does not exist)."""
    schema, table = qualified.split(".")
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}


def hash_expression(cols: list[str], alias: str = "") -> str:
    """MD5 over ``name=value`` of every non-null column, in name order.

    A NULL column adds nothing, so a column a later version adds (NULL in the older rows) does
    not change the hash of a row that has no value in it, and column order never matters. MD5,
    not DuckDB's ``hash()``: the hash is published and must not change with the engine version.
    """
    prefix = f"{alias}." if alias else ""
    parts = [
        f"CASE WHEN {prefix}{quote(c)} IS NOT NULL "
        f"THEN '{c}=' || CAST({prefix}{quote(c)} AS VARCHAR) END"
        for c in sorted(cols)
    ]
    return f"md5(concat_ws(chr(31), {', '.join(parts)}))"


def _key_match(key: list[str], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{quote(k)} = {right}.{quote(k)}" for k in key)


def staged_name(table: str) -> str:
    """The temporary table holding a mart's new rows and their hash during record_version."""
    return f"_history_new_{table}"


def _stage(conn: duckdb.DuckDBPyConnection, table: str, spec: TableSpec) -> list[str]:
    """Copy the mart with its row hash into a temp table; return the mart's columns."""
    mart_cols = list(columns(conn, spec.mart))
    if not mart_cols:
        raise LookupError(f"history: {spec.mart} does not exist; build the marts before publish")
    clash = sorted(set(mart_cols) & set(HISTORY_COLUMNS))
    if clash:
        raise ValueError(f"history: {spec.mart} has columns history reserves: {', '.join(clash)}")
    missing = [k for k in spec.key if k not in mart_cols]
    if missing:
        raise ValueError(f"history: {spec.mart} lacks its key column(s) {', '.join(missing)}")
    staged = staged_name(table)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {staged} AS "
        f"SELECT m.*, {hash_expression(mart_cols, 'm')} AS {HASH_COLUMN} FROM {spec.mart} AS m"
    )
    keys = ", ".join(quote(k) for k in spec.key)
    row = conn.execute(f"SELECT count(*) - count(DISTINCT ({keys})) FROM {staged}").fetchone()
    if row and row[0]:
        raise ValueError(f"history: {spec.mart} has {row[0]} duplicate key(s) on ({keys})")
    return mart_cols


def _ensure_table(conn: duckdb.DuckDBPyConnection, spec: TableSpec, table: str) -> tuple[str, ...]:
    """Create the history table, or add the mart's new columns to it; return the added ones.

    A column the mart no longer has stays in history and is NULL in rows opened from now on.
    """
    target = f"{SCHEMA}.{spec.history}"
    staged = staged_name(table)
    existing = columns(conn, target)
    if not existing:
        conn.execute(
            f"CREATE TABLE {target} AS SELECT * EXCLUDE ({HASH_COLUMN}), "
            "NULL::DATE AS valid_from, NULL::DATE AS valid_to, "
            "NULL::INTEGER AS valid_from_version, NULL::INTEGER AS valid_to_version, "
            f"NULL::BOOLEAN AS is_current, {HASH_COLUMN} FROM {staged} LIMIT 0"
        )
        return ()
    added = []
    for name, dtype in columns(conn, spec.mart).items():
        if name not in existing:
            conn.execute(f"ALTER TABLE {target} ADD COLUMN {quote(name)} {dtype}")
            added.append(name)
    if added:
        log.info("history: %s gained column(s) %s", target, ", ".join(added))
    return tuple(added)


def _advance(
    conn: duckdb.DuckDBPyConnection, table: str, spec: TableSpec, version: int, day: datetime.date
) -> tuple[int, int]:
    """Close the current rows that changed or vanished, open a row for every new state."""
    target = f"{SCHEMA}.{spec.history}"
    staged = staged_name(table)
    key_cols = ", ".join(f"h.{quote(k)}" for k in spec.key)
    match = _key_match(spec.key, "h", "n")
    # current rows with no identical row in the new mart: changed, or their key is gone
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _history_close AS SELECT {key_cols} FROM {target} AS h "
        f"WHERE h.is_current AND NOT EXISTS (SELECT 1 FROM {staged} AS n "
        f"WHERE {match} AND n.{HASH_COLUMN} = h.{HASH_COLUMN})"
    )
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _history_open AS SELECT n.* FROM {staged} AS n "
        f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS h "
        f"WHERE h.is_current AND {match} AND n.{HASH_COLUMN} = h.{HASH_COLUMN})"
    )
    conn.execute(
        f"UPDATE {target} AS h SET valid_to = ?, valid_to_version = ?, is_current = false "
        f"FROM _history_close AS n WHERE h.is_current AND {match}",
        [day, version],
    )
    conn.execute(
        f"INSERT INTO {target} BY NAME SELECT *, ?::DATE AS valid_from, "
        "?::INTEGER AS valid_from_version, true AS is_current FROM _history_open",
        [day, version],
    )
    closed = conn.execute("SELECT count(*) FROM _history_close").fetchone()
    opened = conn.execute("SELECT count(*) FROM _history_open").fetchone()
    conn.execute("DROP TABLE _history_close")
    conn.execute("DROP TABLE _history_open")
    return (opened[0] if opened else 0), (closed[0] if closed else 0)


def record_version(
    conn: duckdb.DuckDBPyConnection, version_number: int, as_of: datetime.date
) -> None:
    """Append the version to the history tables and the change feed, in one transaction.

    Called by publish on the run's working database after the dbt build (the marts are the
    version about to be published) and before the Parquet export. Call it with no transaction
    open on ``conn``. ``as_of`` is the version's business date; a date before the last recorded
    one (a late batch of an older month) is raised to it, so intervals never run backwards.
    Raises ``ValueError`` when ``version_number`` is not after the last one recorded.
    """
    from siheyuan import change_feed

    settings = history_settings()
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(LOG_DDL)
        last = conn.execute(
            f"SELECT max(version_number), max(valid_from) FROM {SCHEMA}.recorded_version"
        ).fetchone()
        last_version, last_day = (last[0], last[1]) if last else (None, None)
        if last_version is not None and version_number <= last_version:
            raise ValueError(
                f"history: version {version_number} is not after version {last_version}, "
                "the last one recorded"
            )
        day = max(as_of, last_day) if last_day is not None else as_of
        baseline = last_version is None

        added: dict[str, tuple[str, ...]] = {}
        previous_columns: dict[str, list[str]] = {}
        for table, spec in settings.tables.items():
            _stage(conn, table, spec)
            previous_columns[table] = list(columns(conn, f"{SCHEMA}.{spec.history}"))
            added[table] = _ensure_table(conn, spec, table)

        resident = settings.tables["resident"]
        changes = change_feed.append_changes(
            conn,
            version_number=version_number,
            as_of=day,
            history_table=f"{SCHEMA}.{resident.history}",
            staged=staged_name("resident"),
            compared=[
                c
                for c in previous_columns["resident"]
                if c not in HISTORY_COLUMNS
                and c not in resident.key
                and c not in settings.feed_ignored_columns
                and c in columns(conn, resident.mart)
            ],
            hukou_dataset=settings.hukou_dataset,
            baseline=baseline,
        )

        opened = closed = 0
        for table, spec in settings.tables.items():
            o, c = _advance(conn, table, spec, version_number, day)
            opened, closed = opened + o, closed + c
            conn.execute(f"DROP TABLE {staged_name(table)}")
        conn.execute(
            f"INSERT INTO {SCHEMA}.recorded_version VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                version_number,
                as_of,
                day,
                datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
                opened,
                closed,
                changes,
            ],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    log.info(
        "history: version %d as of %s — %d row(s) opened, %d closed, %d change(s)",
        version_number,
        day,
        opened,
        closed,
        changes,
    )
