"""Load a published version into PostgreSQL and switch the consumers to it in one transaction.

Why this shape: department systems read stable names (``police.resident``) while versions come
and go. Each version's Parquet files are copied into a schema of their own
(``siheyuan_v000003``: base tables, and the consumers' masked views as ``<consumer>__<table>``);
only then does ONE transaction drop and recreate every consumer's views over the new schema,
so a reader sees the old or the new version, never a mix. Consumer roles are granted their
own schema's views and nothing else: base tables are never granted. Every switch is recorded
in the append-only ``siheyuan_audit.publish_log``. The current and the previous version schemas
are kept (a rollback is a re-publish of the previous version); older ones are dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg import sql
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from siheyuan.db_sources import masked_url

CONSUMERS = ("police", "civil_affairs", "health", "hr", "analytics")
AUDIT_SCHEMA = "siheyuan_audit"
VERSION_PREFIX = "siheyuan_"
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_VERSION = re.compile(r"^v[0-9]+$")
_CHUNK_ROWS = 50_000


class PostgresTargetError(RuntimeError):
    """A publish to PostgreSQL that could not be done; the message never holds a password."""


@dataclass
class PostgresPublish:
    """What a publish did, for the CLI and the tests."""

    version: str
    schema: str
    loaded: bool  # False when the version schema was already there (re-publish)
    switched: bool  # False when the consumers already read this version (no-op)
    row_counts: dict[str, int] = field(default_factory=dict)
    dropped_schemas: list[str] = field(default_factory=list)
    seconds: float = 0.0


def version_schema(version: str) -> str:
    return VERSION_PREFIX + version


def role_name(consumer: str) -> str:
    return f"siheyuan_{consumer}"


def sqlalchemy_url(url: str) -> str:
    """Accept ``postgresql://`` too and use psycopg 3 (the driver whose COPY we use)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise PostgresTargetError(f"{what} {name!r} is not a plain lower-case SQL name")
    return name


# --- reading the published version --------------------------------------------------------


def read_manifest(warehouse: Path, version: str | None) -> tuple[Path, dict[str, Any]]:
    """The version folder and its manifest (``version`` None or CURRENT: the current one)."""
    published = Path(warehouse) / "published"
    if version in (None, "", "CURRENT"):
        current = published / "CURRENT"
        if not current.exists():
            raise PostgresTargetError(f"no published version: {current} is missing")
        version = current.read_text(encoding="utf-8").strip()
    if not _VERSION.match(version):
        raise PostgresTargetError(f"not a version name: {version!r}")
    folder = published / version
    manifest_path = folder / "_manifest.json"
    if not manifest_path.exists():
        raise PostgresTargetError(f"version {version} has no _manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("version") != version:
        raise PostgresTargetError(f"{manifest_path} names version {manifest.get('version')!r}")
    return folder, manifest


def _files(manifest: dict[str, Any]) -> list[tuple[str, str, int, str | None]]:
    """(postgres table name, file, rows, sha256) for base tables and consumer views."""
    out = []
    for table, entry in sorted(manifest.get("tables", {}).items()):
        out.append((_check_name(table, "table"), entry["file"], entry["rows"], entry.get("sha256")))
    for consumer, tables in sorted(manifest.get("views", {}).items()):
        _check_name(consumer, "consumer")
        for table, entry in sorted(tables.items()):
            _check_name(table, "view table")
            out.append((f"{consumer}__{table}", entry["file"], entry["rows"], entry.get("sha256")))
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- types and COPY -----------------------------------------------------------------------


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "bigint" if t.bit_width > 32 or pa.types.is_uint32(t) else "integer"
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_nested(t):
        return "jsonb"  # lists/structs (lineage evidence) stay queryable
    return "text"


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _csv_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Nested columns as JSON text (the CSV writer cannot write them)."""
    columns = []
    for col in batch.columns:
        if pa.types.is_nested(col.type):
            values = [
                None if v is None else json.dumps(v, ensure_ascii=False, default=_json_default)
                for v in col.to_pylist()
            ]
            col = pa.array(values, pa.string())
        columns.append(col)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _copy_parquet(cursor: Any, schema: str, table: str, path: Path) -> int:
    """Create ``schema.table`` from the Parquet schema and COPY the rows in (CSV, NULL unquoted).

    pyarrow's CSV writer quotes every string and leaves NULL unquoted and empty, which
    PostgreSQL's CSV COPY reads back as '' and NULL respectively.
    """
    pf = pq.ParquetFile(path)
    arrow_schema = pf.schema_arrow
    cols = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(_pg_type(f.type)))
        for f in arrow_schema
    )
    target = sql.Identifier(schema, table)
    cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(target, cols))
    names = sql.SQL(", ").join(sql.Identifier(f.name) for f in arrow_schema)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(target, names)
    options = pacsv.WriteOptions(include_header=False)
    rows = 0
    with cursor.copy(copy_sql) as copy:
        for batch in pf.iter_batches(batch_size=_CHUNK_ROWS):
            buf = io.BytesIO()
            pacsv.write_csv(_csv_ready(batch), buf, write_options=options)
            copy.write(buf.getvalue())
            rows += batch.num_rows
    return rows


# --- the publish --------------------------------------------------------------------------

_AUDIT_DDL = [
    f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.publish_log (
        id bigserial PRIMARY KEY,
        version text NOT NULL,
        loaded_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        run_id text,
        batches jsonb NOT NULL,
        row_counts jsonb NOT NULL
    )""",
    # the version's audit.json (checks, code and model, row accounting); NULL for a version
    # published before the hub kept one
    f"ALTER TABLE {AUDIT_SCHEMA}.publish_log ADD COLUMN IF NOT EXISTS audit jsonb",
    f"""CREATE OR REPLACE FUNCTION {AUDIT_SCHEMA}.publish_log_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'siheyuan_audit.publish_log is append-only (% refused)', TG_OP;
        END $$""",
    f"""CREATE OR REPLACE TRIGGER publish_log_append_only
        BEFORE UPDATE OR DELETE ON {AUDIT_SCHEMA}.publish_log
        FOR EACH ROW EXECUTE FUNCTION {AUDIT_SCHEMA}.publish_log_append_only()""",
    f"""CREATE OR REPLACE TRIGGER publish_log_no_truncate
        BEFORE TRUNCATE ON {AUDIT_SCHEMA}.publish_log
        FOR EACH STATEMENT EXECUTE FUNCTION {AUDIT_SCHEMA}.publish_log_append_only()""",
    f"REVOKE UPDATE, DELETE, TRUNCATE ON {AUDIT_SCHEMA}.publish_log FROM PUBLIC",
]


def _schema_exists(cursor: Any, schema: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    return cursor.fetchone() is not None


def _current_version(cursor: Any) -> str | None:
    """The version the consumers read now (the last switch in the audit log)."""
    if not _schema_exists(cursor, AUDIT_SCHEMA):
        return None
    cursor.execute(f"SELECT version FROM {AUDIT_SCHEMA}.publish_log ORDER BY id DESC LIMIT 1")
    row = cursor.fetchone()
    return row[0] if row else None


def _load(conn: Connection, folder: Path, manifest: dict[str, Any], schema: str) -> dict[str, int]:
    """Copy every file of the version into ``schema``, in one transaction (all or nothing)."""
    counts: dict[str, int] = {}
    with conn.begin():
        cur = conn.connection.driver_connection.cursor()
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        cur.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(schema)))
        for table, file, rows, sha in _files(manifest):
            path = folder / file
            if sha is not None and _sha256(path) != sha:
                raise PostgresTargetError(f"{file} does not match its sha256 in the manifest")
            copied = _copy_parquet(cur, schema, table, path)
            if copied != rows:
                raise PostgresTargetError(f"{file}: {copied} rows copied, manifest says {rows}")
            counts[table] = copied
        cur.execute(
            sql.SQL(
                "CREATE TABLE {} AS SELECT %s::text AS version, %s::timestamptz AS published_at"
            ).format(sql.Identifier(schema, "_published")),
            (manifest["version"], manifest.get("published_at")),
        )
    return counts


def _ensure_role(cur: Any, role: str) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    if cur.fetchone() is None:
        cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))


def _audit_record(folder: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The version's ``audit.json`` (checked against the manifest's sha256), if it has one."""
    entry = manifest.get("audit")
    if not entry:
        return None
    path = folder / entry["file"]
    if _sha256(path) != entry["sha256"]:
        raise PostgresTargetError(f"{entry['file']} does not match its sha256 in the manifest")
    return json.loads(path.read_text(encoding="utf-8"))


def _switch(
    cur: Any,
    manifest: dict[str, Any],
    schema: str,
    counts: dict[str, int],
    audit: dict[str, Any] | None = None,
) -> None:
    """Inside the caller's transaction: consumers' views over ``schema``, grants, audit row."""
    for ddl in _AUDIT_DDL:
        cur.execute(ddl)
    views = manifest.get("views", {})
    consumers = sorted(set(CONSUMERS) | set(views))
    # take every consumer view's lock up front, in one order, before dropping any
    existing: dict[str, list[str]] = {}
    for consumer in consumers:
        cur.execute(
            "SELECT viewname FROM pg_views WHERE schemaname = %s ORDER BY viewname", (consumer,)
        )
        existing[consumer] = [r[0] for r in cur.fetchall()]
    locked = [sql.Identifier(c, v) for c in consumers for v in existing[c]]
    if locked:
        cur.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.SQL(", ").join(locked))
        )
    for consumer in consumers:
        role = role_name(consumer)
        _ensure_role(cur, role)
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(consumer)))
        cur.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(consumer)))
        for view in existing[consumer]:
            cur.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(consumer, view)))
        targets = {t: f"{consumer}__{t}" for t in sorted(views.get(consumer, {}))}
        targets["published_version"] = "_published"
        for view, table in targets.items():
            cur.execute(
                sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(
                    sql.Identifier(consumer, view), sql.Identifier(schema, table)
                )
            )
            cur.execute(
                sql.SQL("GRANT SELECT ON {} TO {}").format(
                    sql.Identifier(consumer, view), sql.Identifier(role)
                )
            )
        cur.execute(
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(consumer), sql.Identifier(role)
            )
        )
    cur.execute(
        f"INSERT INTO {AUDIT_SCHEMA}.publish_log "
        "(version, published_at, run_id, batches, row_counts, audit) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (
            manifest["version"],
            manifest.get("published_at"),
            manifest.get("run_id"),
            json.dumps(manifest.get("batches_in_this_version", []), ensure_ascii=False),
            json.dumps(counts, ensure_ascii=False),
            None if audit is None else json.dumps(audit, ensure_ascii=False),
        ),
    )


def _drop_old(cur: Any, keep: Iterable[str]) -> list[str]:
    """Drop version schemas other than ``keep`` (the current and the previous version)."""
    cur.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname ~ '^siheyuan_v[0-9]+$' ORDER BY nspname"
    )
    dropped = []
    for (name,) in cur.fetchall():
        if name not in keep:
            cur.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
            dropped.append(name)
    return dropped


def publish_to_postgres(url: str, warehouse: Path, version: str | None = None) -> PostgresPublish:
    """Load ``version`` (default: CURRENT) of ``warehouse`` into PostgreSQL at ``url``.

    Re-publishing the version the consumers already read is a no-op; re-publishing a version
    whose schema is still there (the previous one: a rollback) switches without reloading.
    """
    started = time.perf_counter()
    folder, manifest = read_manifest(warehouse, version)
    audit = _audit_record(folder, manifest)
    name = manifest["version"]
    schema = version_schema(name)
    shown = masked_url(sqlalchemy_url(url))
    engine = None
    try:
        # inside the try: a malformed URL's error may quote it, password and all
        engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            with conn.begin():
                cur = raw.cursor()
                # one publish at a time per database (session lock: released when we close)
                cur.execute("SELECT pg_advisory_lock(hashtext('siheyuan_publish'))")
                before = _current_version(cur)
                present = _schema_exists(cur, schema)
            if before == name and present:
                return PostgresPublish(name, schema, loaded=False, switched=False)
            counts: dict[str, int]
            if present:
                counts = {t: rows for t, _, rows, _ in _files(manifest)}
                loaded = False
            else:
                counts = _load(conn, folder, manifest, schema)
                loaded = True
            with conn.begin():
                _switch(raw.cursor(), manifest, schema, counts, audit)
            with conn.begin():
                keep = {schema} | ({version_schema(before)} if before else set())
                dropped = _drop_old(raw.cursor(), keep)
    except PostgresTargetError:
        raise
    except Exception as exc:  # driver errors may echo the URL: show it masked
        message = str(exc).replace(url, shown).replace(sqlalchemy_url(url), shown)
        raise PostgresTargetError(
            f"publish of {name} to {shown} failed: {type(exc).__name__}: {message}"
        ) from exc
    finally:
        if engine is not None:
            engine.dispose()
    return PostgresPublish(
        name,
        schema,
        loaded=loaded,
        switched=True,
        row_counts=counts,
        dropped_schemas=dropped,
        seconds=time.perf_counter() - started,
    )
