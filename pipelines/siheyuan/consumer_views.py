"""Per-consumer views of a published version, written from the access policy (access_policy.yml).

Why views in every version: each department system may read only what it needs (PIPL's minimum
necessary principle), and a view that is written with the version it shows can never drift from
it. Why DuckDB SQL for the masks: the views of a million-person version are a handful of
``COPY (SELECT …)`` statements, not a Python loop over rows. That includes the keyed pseudonym:
DuckDB has no HMAC function, but HMAC-SHA256 is two SHA-256 passes over the key's padded blocks
(RFC 2104), and DuckDB hashes blobs natively — a tenth of the time of a Python UDF calling
``hmac`` per value (about 5M values at a million persons). ``pseudonym`` is the Python
reference the tests compare it with.

Default deny: a view holds exactly the columns its consumer is granted; ``check_views`` proves
it against the files written.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import yaml

from siheyuan.landing import file_sha256
from siheyuan.publish import PUBLISHED_TABLES, TABLE_KEYS
from siheyuan.settings import ConfigurationError

POLICY_PATH = Path(__file__).with_name("access_policy.yml")
VIEWS_DIR = "views"
CONSUMERS: tuple[str, ...] = ("police", "civil_affairs", "health", "hr", "analytics")
METHODS: frozenset[str] = frozenset(
    {"clear", "mask_id", "mask_phone", "mask_name", "pseudonym", "year_only"}
)
# A minors' method never loosens a grant: no "clear", and only "null" replaces a pseudonym/year.
MINOR_METHODS: frozenset[str] = frozenset({"mask_id", "mask_phone", "mask_name", "null"})
# The column that says whose row it is, for the minors' rule.
RESIDENT_KEY = "resident_id"
_PSEUDONYM_FN = "siheyuan_pseudonym"
_SHA256_BLOCK = 64  # bytes


@dataclass(frozen=True)
class MinorsRule:
    age_under: int
    consumers: frozenset[str]
    columns: dict[str, str]


@dataclass(frozen=True)
class AccessPolicy:
    path: Path
    grants: dict[str, dict[str, dict[str, str]]]  # consumer -> table -> column -> method
    minors: MinorsRule
    health_condition_columns: frozenset[str]


def _fail(path: Path, message: str) -> ConfigurationError:
    return ConfigurationError(f"{path}: {message}")


def load_policy(path: Path = POLICY_PATH, tables: tuple[str, ...] | None = None) -> AccessPolicy:
    """Read and check the policy: known consumers, tables, methods; conditions only for health.

    ``tables`` are the table names a policy may grant (default: every published table). Columns
    are checked against the files in ``write_views``, where the real columns are known.
    """
    if tables is None:
        tables = PUBLISHED_TABLES
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(path, f"cannot read the access policy ({type(exc).__name__})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("consumers"), dict):
        raise _fail(path, "needs a 'consumers' mapping")
    conditions = frozenset(raw.get("health_condition_columns") or [])
    condition_readers = set(raw.get("health_condition_consumers") or [])
    grants: dict[str, dict[str, dict[str, str]]] = {}
    for consumer, body in raw["consumers"].items():
        if consumer not in CONSUMERS:
            raise _fail(path, f"unknown consumer {consumer!r} (known: {', '.join(CONSUMERS)})")
        table_map = (body or {}).get("tables") if isinstance(body, dict) else None
        if not isinstance(table_map, dict):
            raise _fail(path, f"consumer {consumer}: needs a 'tables' mapping")
        grants[consumer] = {}
        for table, columns in table_map.items():
            if table not in tables:
                raise _fail(path, f"consumer {consumer}: unknown table {table!r}")
            if not isinstance(columns, dict) or not columns:
                raise _fail(path, f"consumer {consumer}, table {table}: needs column: method")
            for column, method in columns.items():
                if method not in METHODS:
                    raise _fail(path, f"{consumer}.{table}.{column}: unknown method {method!r}")
                if column in conditions and consumer not in condition_readers:
                    raise _fail(
                        path, f"{consumer}.{table}.{column}: health conditions only for health"
                    )
            grants[consumer][table] = {str(c): str(m) for c, m in columns.items()}
    missing = [c for c in CONSUMERS if c not in grants]
    if missing:
        raise _fail(path, f"no policy for consumer(s) {', '.join(missing)}")
    minors_raw = raw.get("minors")
    if not isinstance(minors_raw, dict):
        raise _fail(path, "needs a 'minors' rule")
    minors_cols = {str(c): str(m) for c, m in (minors_raw.get("columns") or {}).items()}
    for column, method in minors_cols.items():
        if method not in MINOR_METHODS:
            raise _fail(path, f"minors.{column}: unknown method {method!r}")
    minors_consumers = frozenset(minors_raw.get("consumers") or [])
    unknown = minors_consumers - set(CONSUMERS)
    if unknown:
        raise _fail(path, f"minors: unknown consumer(s) {', '.join(sorted(unknown))}")
    try:
        age_under = int(minors_raw["age_under"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(path, "minors: needs an integer age_under") from exc
    return AccessPolicy(
        Path(path), grants, MinorsRule(age_under, minors_consumers, minors_cols), conditions
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def method_sql(method: str, column: str) -> str:
    """The SQL expression that shows ``column`` by ``method`` (a NULL stays NULL).

    The masks repeat ``mask_id_number`` and ``mask_phone`` in SQL; the tests compare both.
    """
    c = f"t.{_quote(column)}"  # every view selects from its base table as ``t``
    if method == "clear":
        return c
    if method == "mask_id":
        return (
            f"CASE WHEN {c} IS NULL THEN NULL "
            f"WHEN length({c}) >= 15 THEN left({c}, 6) || repeat('*', length({c}) - 10) "
            f"|| right({c}, 4) "
            f"ELSE left({c}, length({c}) // 3) || repeat('*', length({c}) - length({c}) // 3) END"
        )
    if method == "mask_phone":
        digits = f"right(regexp_replace({c}, '\\D', '', 'g'), 11)"
        return (
            f"CASE WHEN {c} IS NULL THEN NULL "
            f"WHEN length({digits}) = 11 THEN left({digits}, 3) || '****' || right({digits}, 4) "
            f"ELSE repeat('*', length({c})) END"
        )
    if method == "mask_name":
        return (
            f"CASE WHEN {c} IS NULL THEN NULL "
            f"ELSE left({c}, 1) || repeat('*', greatest(length({c}) - 1, 1)) END"
        )
    if method == "pseudonym":
        return f"{_PSEUDONYM_FN}(CAST({c} AS VARCHAR))"
    if method == "year_only":
        return f"CAST(year({c}) AS INTEGER)"
    raise ValueError(f"unknown method {method!r}")


def pseudonym(id_key: str, value: str | None) -> str | None:
    """HMAC-SHA256(key = warehouse secret, message = value), hex: the analytics join key.

    Keyed, so nobody without the warehouse secret can recompute it from a guessed id; stable,
    because the secret and the resident ids are stable from version to version.
    """
    if value is None:
        return None
    return hmac.new(id_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def _hmac_pads(id_key: str) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer key blocks (RFC 2104): the key, hashed when longer than the
    64-byte block and zero-padded to it, XOR 0x36 and XOR 0x5c."""
    key = id_key.encode()
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_SHA256_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _register_pseudonym(conn: duckdb.DuckDBPyConnection, id_key: str) -> None:
    """Define ``siheyuan_pseudonym(v)`` on ``conn``: HMAC-SHA256 in SQL, hex like ``pseudonym``.

    The key blocks are bound as parameters into a temporary table, never written into SQL text
    (a statement can end up in an error message or a log; the blocks are the secret).
    """
    inner, outer = _hmac_pads(id_key)
    conn.execute("CREATE TEMP TABLE _pseudonym_key (inner_pad BLOB, outer_pad BLOB)")
    conn.execute("INSERT INTO _pseudonym_key VALUES (?, ?)", [inner, outer])
    conn.execute(
        f"CREATE TEMP MACRO {_PSEUDONYM_FN}(v) AS "
        "sha256((SELECT outer_pad FROM _pseudonym_key) "
        "|| unhex(sha256((SELECT inner_pad FROM _pseudonym_key) || encode(v))))"
    )


def _columns(conn: duckdb.DuckDBPyConnection, file: Path) -> dict[str, str]:
    rows = conn.execute(f"DESCRIBE SELECT * FROM read_parquet('{file}')").fetchall()
    return {r[0]: r[1] for r in rows}


def _out_type(method: str, base_type: str) -> str:
    if method == "clear":
        return base_type
    return "INTEGER" if method == "year_only" else "VARCHAR"


def _select_list(
    grant: dict[str, str], types: dict[str, str], minors: dict[str, str] | None, path: Path
) -> tuple[list[str], bool]:
    """The view's SELECT items, and whether any of them depends on the minors' join."""
    items = []
    uses_minors = False
    for column, method in grant.items():
        expr = method_sql(method, column)
        strict = (minors or {}).get(column)
        if strict is not None and strict != method:
            out = _out_type(method, types[column])
            if strict == "null":
                minor_expr = f"CAST(NULL AS {out})"
            elif out == "VARCHAR" and method != "pseudonym":
                minor_expr = method_sql(strict, column)
            else:  # a mask on a pseudonym or a year: the granted method is already stricter
                raise _fail(path, f"minors.{column}: {strict} cannot replace {method}")
            expr = f"CASE WHEN m.{RESIDENT_KEY} IS NOT NULL THEN {minor_expr} ELSE {expr} END"
            uses_minors = True
        items.append(f"{expr} AS {_quote(column)}")
    return items, uses_minors


def _whole_table(grant: dict[str, str], types: dict[str, str], uses_minors: bool) -> bool:
    """A grant of every column of the table, in its order, unmasked, with no minors' rule."""
    return (
        not uses_minors
        and list(grant) == list(types)
        and all(method == "clear" for method in grant.values())
    )


def write_views(
    version_dir: Path, id_key: str, as_of: date, policy: AccessPolicy | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """Write ``views/<consumer>/<table>.parquet`` for every grant; return their manifest entries.

    Minors are the residents of ``resident.parquet`` born after ``as_of`` minus ``age_under``
    years (age at the version's business date, not the clock, so a re-run gives the same files).
    """
    policy = policy or load_policy()
    views: dict[str, dict[str, dict[str, Any]]] = {}
    conn = duckdb.connect()
    try:
        _register_pseudonym(conn, id_key)
        resident_file = version_dir / "resident.parquet"
        conn.execute("CREATE TEMP TABLE minor (resident_id VARCHAR PRIMARY KEY)")
        if resident_file.exists():
            conn.execute(
                "INSERT INTO minor SELECT DISTINCT resident_id "
                f"FROM read_parquet('{resident_file}') "
                "WHERE birth_date > CAST(? AS DATE) - to_years(?)",
                [as_of, policy.minors.age_under],
            )
        for consumer, tables in policy.grants.items():
            folder = version_dir / VIEWS_DIR / consumer
            folder.mkdir(parents=True, exist_ok=True)
            views[consumer] = {}
            for table, grant in tables.items():
                base = version_dir / f"{table}.parquet"
                if not base.exists():
                    raise _fail(policy.path, f"{consumer}.{table}: {base.name} is not published")
                types = _columns(conn, base)
                unknown = [c for c in grant if c not in types]
                if unknown:
                    raise _fail(
                        policy.path,
                        f"{consumer}.{table}: unknown column(s) {', '.join(unknown)}",
                    )
                strict = (
                    policy.minors.columns
                    if consumer in policy.minors.consumers and RESIDENT_KEY in types
                    else None
                )
                items, uses_minors = _select_list(grant, types, strict, policy.path)
                source = f"read_parquet('{base}') AS t"
                if uses_minors:
                    source += f" LEFT JOIN minor AS m ON m.{RESIDENT_KEY} = t.{RESIDENT_KEY}"
                # rows in the base table's key order: the same data gives byte-identical views.
                # The base file is written in that order and a plain projection of one file
                # keeps it (DuckDB preserves insertion order), so only the minors' join needs
                # the sort again (at a million persons the sorts were ~40 % of the views' time)
                keys = [k for k in TABLE_KEYS.get(table, ()) if k in types]
                order = (
                    f" ORDER BY {', '.join('t.' + _quote(k) for k in keys)}"
                    if keys and uses_minors
                    else ""
                )
                target = folder / f"{table}.parquet"
                if _whole_table(grant, types, uses_minors):
                    # every column, in the file's order, in the clear: the view's content is the
                    # base file's, so its bytes are copied rather than decoded and encoded again
                    # (19 of the 46 default views; at a million persons ~3 s of the views' time)
                    shutil.copyfile(base, target)
                else:
                    conn.execute(
                        f"COPY (SELECT {', '.join(items)} FROM {source}{order}) "
                        f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
                    )
                rows = conn.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchall()
                views[consumer][table] = {
                    "file": f"{VIEWS_DIR}/{consumer}/{table}.parquet",
                    "rows": int(rows[0][0]),
                    "sha256": file_sha256(target),
                    "columns": list(grant),
                }
        check_views(conn, version_dir, policy)
    finally:
        conn.close()
    return views


def check_views(conn: duckdb.DuckDBPyConnection, version_dir: Path, policy: AccessPolicy) -> None:
    """Default deny, proven on the files: a view holds exactly its granted columns, and no
    folder holds a view the policy does not grant."""
    root = version_dir / VIEWS_DIR
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        granted = policy.grants.get(folder.name, {})
        for file in sorted(folder.glob("*.parquet")):
            grant = granted.get(file.stem)
            if grant is None:
                raise RuntimeError(f"view {folder.name}/{file.name} is granted by no policy")
            got = list(_columns(conn, file))
            if got != list(grant):
                extra = sorted(set(got) - set(grant))
                raise RuntimeError(
                    f"view {folder.name}/{file.name} columns differ from the policy: "
                    f"not granted {extra}"
                )
