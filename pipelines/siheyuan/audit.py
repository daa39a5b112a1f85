"""The audit trail of publishes: one append-only row per published version.

An auditor must be able to reconstruct any publish: when it happened, which batches it holds,
what the data-quality gate said about this run's files, which code and linking model built it,
how many rows came in and where they went, how records were linked and how many rows each
published table has. ``meta.publish`` says *that* a version exists; ``meta.publish_audit`` says
*how* it came to be. Rows are only ever inserted, never updated or deleted, so a later publish
cannot rewrite the story of an earlier one.

The record is JSON-able (the publish also writes it as ``audit.json`` next to the version's
tables). It holds counts, names, hashes and masked check text, never an ID number or a phone:
every free-text value passes through the report's masking readers.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import duckdb

from siheyuan.linking.config import SETTINGS_PATH as LINKING_SETTINGS
from siheyuan.linking.predict import MODEL_PATH
from siheyuan.report import batch_ledger, read_checks, rows_in_xref
from siheyuan.settings import project_root
from siheyuan.standardise.incremental import std_version
from siheyuan.warehouse import table_exists

AUDIT_TABLE = "meta.publish_audit"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} ("
    "version VARCHAR NOT NULL, version_number INTEGER NOT NULL, published_at TIMESTAMP NOT NULL, "
    "run_id VARCHAR NOT NULL, batch_ids VARCHAR[] NOT NULL, code_commit VARCHAR, "
    "config_sha256 VARCHAR NOT NULL, model_sha256 VARCHAR NOT NULL, record JSON NOT NULL)"
)
# What decides the marts besides the Python package: dbt models and seeds, the linking settings.
_CONFIG_GLOBS = (("models", "**/*.sql"), ("models", "**/*.py"), ("models", "**/*.yml"))
_CONFIG_SEEDS = ("seeds", "*.csv")


def _sha256_of(paths: Iterable[Path], root: Path) -> str:
    """One hash over the files' relative names and contents, in a stable order."""
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(root)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@cache
def config_sha256() -> str:
    """Hash of the dbt models, seeds, linking settings and standardisation rules (std_version)."""
    root = project_root()
    files = [p for folder, pattern in _CONFIG_GLOBS for p in (root / folder).glob(pattern)]
    files += list((root / _CONFIG_SEEDS[0]).glob(_CONFIG_SEEDS[1]))
    files.append(LINKING_SETTINGS)
    h = hashlib.sha256(_sha256_of(files, root).encode())
    h.update(std_version().encode())
    return h.hexdigest()


def model_sha256(path: Path = MODEL_PATH) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_version() -> dict[str, str | None]:
    """The git commit of the checkout when there is one (and whether it had local changes),
    else only the installed package version: a wheel install has no git history."""
    try:
        pkg = package_version("siheyuan")
    except PackageNotFoundError:
        pkg = None
    commit, dirty = None, None
    try:
        root = project_root()
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if done.returncode == 0:
            commit = done.stdout.strip() or None
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=10,
            )
            dirty = "yes" if status.returncode == 0 and status.stdout.strip() else "no"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"git_commit": commit, "git_dirty": dirty, "package_version": pkg}


def _count(conn: duckdb.DuckDBPyConnection, schema: str, table: str, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall() if table_exists(conn, schema, table) else []


def link_statistics(conn: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """How the published records were linked, and what waits for a steward.

    ``records_by_rule``: source records per link rule (id_number, probabilistic, steward,
    singleton, held_id_conflict); ``pending_review``: open pairs in the review queue, by reason;
    ``steward_decisions``: decisions recorded (the latest per pair counts), by decision.
    """
    by_rule = dict(
        _count(
            conn,
            "marts",
            "resident_source_xref",
            "SELECT link_rule, count(*) FROM marts.resident_source_xref GROUP BY 1 ORDER BY 1",
        )
    )
    residents = _count(
        conn,
        "marts",
        "resident",
        "SELECT count(*), count(*) FILTER (source_record_count = 1) FROM marts.resident",
    )
    pending = dict(
        _count(
            conn,
            "marts",
            "review_queue",
            "SELECT reason, count(*) FROM marts.review_queue GROUP BY 1 ORDER BY 1",
        )
    )
    decisions = dict(
        _count(
            conn,
            "meta",
            "link_decision",
            "SELECT decision, count(*) FROM (SELECT decision FROM meta.link_decision "
            "QUALIFY row_number() OVER (PARTITION BY pair_id ORDER BY decided_at DESC) = 1) "
            "GROUP BY 1 ORDER BY 1",
        )
    )
    return {
        "records_by_rule": {k: int(v) for k, v in by_rule.items()},
        "records": int(sum(by_rule.values())),
        "residents": int(residents[0][0]) if residents else 0,
        "single_record_residents": int(residents[0][1]) if residents else 0,
        "pending_review": {k: int(v) for k, v in pending.items()},
        "pending_review_total": int(sum(pending.values())),
        "steward_decisions": {k: int(v) for k, v in decisions.items()},
    }


def _rows_in_xref(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Accepted rows per batch whose record is in the marts' xref (what this version publishes)."""
    if not table_exists(conn, "marts", "resident_source_xref"):
        return {}
    return rows_in_xref(conn, "marts.resident_source_xref")


def row_accounting(conn: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """Per file this run recorded an outcome for: rows received, accepted, quarantined,
    duplicate, published (in the xref); rows of rejected files count as rejected."""
    in_xref = _rows_in_xref(conn)
    files = []
    for b in batch_ledger(conn):
        if b["run_id"] != run_id:
            continue
        applied = b["status"] == "applied"
        files.append(
            {
                "file": b["file"],
                "dataset": b["dataset"],
                "batch_id": b["batch_id"],
                "status": b["status"],
                "reason_code": b["reason_code"],
                "rows_received": b["rows_received"] or 0,
                "rows_accepted": b["rows_accepted"] or 0,
                "rows_quarantined": b["rows_quarantined"] or 0,
                "rows_duplicate": b["rows_duplicate"] or 0,
                "rows_rejected": 0 if applied else (b["rows_received"] or 0),
                "rows_published": in_xref.get(b["batch_id"], 0) if applied else 0,
            }
        )
    keys = (
        "rows_received",
        "rows_accepted",
        "rows_quarantined",
        "rows_duplicate",
        "rows_rejected",
        "rows_published",
    )
    return {"totals": {k: sum(f[k] for f in files) for k in keys}, "files": files}


def check_summary(conn: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """This run's gate verdicts (meta.check_result), masked, with counts."""
    checks = read_checks(conn, run_id)
    return {
        "total": len(checks),
        "passed": sum(1 for c in checks if c["passed"]),
        "failed": sum(1 for c in checks if not c["passed"]),
        "overridden": sum(1 for c in checks if c["overridden"]),
        "results": [
            {
                k: c[k]
                for k in (
                    "file_name",
                    "dataset",
                    "check_name",
                    "layer",
                    "blocking",
                    "passed",
                    "overridden",
                    "observed",
                    "threshold",
                    "detail",
                )
            }
            for c in checks
        ],
    }


def record_publish(
    conn: duckdb.DuckDBPyConnection,
    version: str,
    number: int,
    run_id: str,
    published_at: datetime,
    batch_ids: list[str],
    table_rows: dict[str, int],
) -> dict[str, Any]:
    """Append this publish's audit row to ``meta.publish_audit`` (created when missing) and
    return the record, JSON-able, for ``audit.json`` in the version folder."""
    code = code_version()
    record: dict[str, Any] = {
        "version": version,
        "version_number": number,
        "published_at": published_at.isoformat(timespec="seconds") + "Z",
        "run_id": run_id,
        "batches": list(batch_ids),
        "checks": check_summary(conn, run_id),
        "code": {**code, "config_sha256": config_sha256(), "std_version": std_version()},
        "model": {"file": MODEL_PATH.name, "sha256": model_sha256()},
        "row_accounting": row_accounting(conn, run_id),
        "links": link_statistics(conn),
        "table_rows": dict(table_rows),
    }
    record = json.loads(json.dumps(record, default=str))  # dates and the like as text
    conn.execute(_CREATE)
    conn.execute(
        f"INSERT INTO {AUDIT_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            version,
            number,
            published_at,
            run_id,
            list(batch_ids),
            code["git_commit"],
            record["code"]["config_sha256"],
            record["model"]["sha256"],
            json.dumps(record, ensure_ascii=False),
        ],
    )
    return record


def read_audit(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every audit record, oldest first (none in a warehouse that predates the audit trail)."""
    if not table_exists(conn, "meta", "publish_audit"):
        return []
    return [
        json.loads(r[0])
        for r in conn.execute(
            f"SELECT record FROM {AUDIT_TABLE} ORDER BY version_number, published_at"
        ).fetchall()
    ]
