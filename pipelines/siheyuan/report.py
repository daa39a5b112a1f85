"""The auditor's view of a warehouse: what came in, what was rejected and why, what was published.

Everything here *reads* the live warehouse and never writes it. A run holds DuckDB's single
writer lock on the live database only for short moments (its working copy, a rejection record,
the swap), but a reader holding even a read-only connection at such a moment would make the run
fail. So the registry is read from a private snapshot copy of the database file, never from the
file itself: a report cannot break or block a run. A copy caught half-written (the run wrote while
it was copied) does not open or read cleanly and is taken again; if that keeps failing, the
reader says the warehouse is being written by a running run.

Every free-text value (reasons, check details, override reasons, source keys) passes through
``mask_text`` before it leaves this module: a reason that quotes a value shaped like an ID number
or a phone number is printed masked (``330106********1234``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from siheyuan.contracts import load_contracts
from siheyuan.held import read_held
from siheyuan.publish import read_current
from siheyuan.quality import data_docs_index
from siheyuan.quality.config import EMPTY_SNAPSHOT, INTAKE, check_definitions
from siheyuan.quality.privacy import mask_text
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import table_exists

# Registry fields that carry free text (or a source key): masked on the way out.
MASKED_FIELDS = frozenset({"reason", "detail", "observed", "threshold", "source_key"})
SNAPSHOT_ATTEMPTS = 5


class WarehouseLocked(RuntimeError):
    """The live database could not be read consistently because a run is writing it."""


@contextlib.contextmanager
def snapshot_connection(layout: WarehouseLayout) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection to a private copy of the live database (None: no database yet)."""
    if not layout.database.exists():
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="siheyuan-report-") as tmp:
        copy = Path(tmp) / "snapshot.duckdb"
        last_error: Exception | None = None
        conn: duckdb.DuckDBPyConnection | None = None
        for attempt in range(SNAPSHOT_ATTEMPTS):
            try:
                conn = _open_copy(layout.database, copy)
                break
            except (duckdb.Error, OSError) as exc:  # torn copy, or the file swapped mid-copy
                last_error = exc
                time.sleep(0.2 * (attempt + 1))
        if conn is None:
            raise WarehouseLocked(
                f"the warehouse database {layout.database} is being written by a running "
                f"siheyuan run{_holder(layout)} and could not be read consistently; try again "
                f"when the run has finished ({type(last_error).__name__})"
            )
        try:
            yield conn
        finally:
            conn.close()


def _open_copy(live: Path, copy: Path) -> duckdb.DuckDBPyConnection:
    for stale in (copy, copy.with_name(copy.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(live, copy)
    wal = live.with_name(live.name + ".wal")
    with contextlib.suppress(FileNotFoundError):
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    conn = duckdb.connect(str(copy))  # writable copy: DuckDB may need to replay a copied WAL
    try:
        conn.execute("SELECT count(*) FROM information_schema.tables").fetchall()
    except duckdb.Error:
        conn.close()
        raise
    return conn


def _holder(layout: WarehouseLayout) -> str:
    try:
        pid = layout.lock_file.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    for row in rows:
        for key in MASKED_FIELDS & row.keys():
            if isinstance(row[key], str):
                row[key] = mask_text(row[key])
    return rows


def _read(
    conn: duckdb.DuckDBPyConnection, table: str, sql: str, params: list | None = None
) -> list[dict[str, Any]]:
    """Rows of ``sql`` as masked dicts; none when ``meta.<table>`` does not exist (an older
    warehouse, or one no run has written yet)."""
    if not table_exists(conn, "meta", table):
        return []
    return _dicts(conn.execute(sql, params or []))


# ---------------------------------------------------------------------------------------------
# The batch ledger: one entry per (file name, content) ever seen.


def _rows_in_xref(conn: duckdb.DuckDBPyConnection, xref: Path | None) -> dict[str, int]:
    """Accepted rows per batch whose (dataset, source key) is in the published xref."""
    if xref is None or not xref.exists():
        return {}
    return rows_in_xref(conn, "read_parquet(?)", [str(xref)])


def rows_in_xref(
    conn: duckdb.DuckDBPyConnection, xref_sql: str, params: list[object] | None = None
) -> dict[str, int]:
    """Accepted rows per batch whose (dataset, source key) is in ``xref_sql`` (a table or a
    table function with ``params``): the published file here, the marts in the audit."""
    counts: dict[str, int] = {}
    datasets = [
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
        ).fetchall()
    ]
    for dataset in datasets:
        for batch_id, n in conn.execute(
            f'SELECT r._batch_id, count(*) FROM raw."{dataset}" r WHERE r._source_key IN '
            f"(SELECT source_key FROM {xref_sql} WHERE source_dataset = ?) GROUP BY 1",
            [*(params or []), dataset],
        ).fetchall():
            counts[batch_id] = int(n)
    return counts


def _quarantine_rows_per_batch(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    if not table_exists(conn, "meta", "quarantine"):
        return {}
    return {
        batch_id: int(n)
        for batch_id, n in conn.execute(
            "SELECT batch_id, count(*) FROM meta.quarantine GROUP BY batch_id"
        ).fetchall()
    }


@cache
def _gate_checks(dataset: str) -> frozenset[str]:
    """The checks that judge a batch's rows once read (all but intake), by reason code."""
    contracts = load_contracts()
    if dataset not in contracts:
        return frozenset()
    return frozenset(d.name for d in check_definitions(contracts[dataset]) if d.name != INTAKE)


def _refused_after_reading(batch: dict[str, Any]) -> bool:
    """A refusal by the gate (a check's name is its reason code) or an empty snapshot: its rows
    were read and the ones it would quarantine are listed. A file the reader refused (truncated,
    undecodable, a column missing …) was never split into rows: there is no count to give."""
    code = batch["reason_code"]
    return code == EMPTY_SNAPSHOT or code in _gate_checks(batch["dataset"])


def batch_ledger(conn: duckdb.DuckDBPyConnection, xref: Path | None = None) -> list[dict[str, Any]]:
    """Every batch file ever seen, once per distinct (file name, SHA-256), oldest first.

    The registry records a (name, content) once per outcome; the same content can have more than
    one (rejected by a threshold, then applied after an override). The entry shows the latest
    outcome and keeps the earlier ones in ``history``, so a file is neither lost nor counted twice.
    """
    records = _read(
        conn,
        "batch",
        (
            "SELECT file_name, dataset, department, kind, extract_date, seq, file_sha256, "
            "batch_id, status, reason_code, reason, rows_received, rows_accepted, "
            "rows_quarantined, rows_duplicate, apply_seq, run_id, recorded_at FROM meta.batch "
            "ORDER BY recorded_at, coalesce(apply_seq, 0)"
        ),
    )
    if not records:
        return []
    overrides: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for o in read_overrides(conn):
        overrides[(o["file_name"], o["file_sha256"])].append(
            {k: o[k] for k in ("check_name", "accepted_by", "accepted_at", "reason")}
        )
    in_xref = _rows_in_xref(conn, xref)
    listed = _quarantine_rows_per_batch(conn)
    grouped: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        grouped.setdefault((r["file_name"], r["file_sha256"]), []).append(r)
    ledger = []
    for (file_name, sha), outcomes in grouped.items():
        last = outcomes[-1]
        ledger.append(
            {
                "file": file_name,
                "dataset": last["dataset"],
                "status": last["status"],
                "reason": last["reason"],
                "rows_received": last["rows_received"],
                "rows_accepted": last["rows_accepted"],
                "rows_quarantined": last["rows_quarantined"],
                "rows_duplicate": last["rows_duplicate"],
                # a rejected batch quarantined nothing (it was not used), but the rows it would
                # have quarantined are listed: how many (null unless rejected after reading)
                "rows_quarantined_if_accepted": listed.get(last["batch_id"], 0)
                if last["status"] == "rejected" and _refused_after_reading(last)
                else None,
                "rows_in_xref": in_xref.get(last["batch_id"], 0)
                if last["status"] == "applied" and xref is not None
                else None,
                "reason_code": last["reason_code"],
                "department": last["department"],
                "kind": last["kind"],
                "extract_date": last["extract_date"],
                "seq": last["seq"],
                "sha256": sha,
                "batch_id": last["batch_id"],
                "apply_seq": last["apply_seq"],
                "run_id": last["run_id"],
                "first_seen": outcomes[0]["recorded_at"],
                "recorded_at": last["recorded_at"],
                "history": [
                    {k: o[k] for k in ("status", "reason_code", "reason", "run_id", "recorded_at")}
                    for o in outcomes[:-1]
                ],
                "overrides": overrides.get((file_name, sha), []),
            }
        )
    return ledger


# The outcome of the batch a quarantine row belongs to: the registry row of the same batch and
# run. A rejected batch's rows are the ones it *would* have quarantined (recorded with the
# refusal); rows without a registry row predate that and belong to an applied batch.
_BATCH_STATUS_OF_ROWS = (
    "LEFT JOIN (SELECT batch_id, run_id, CASE WHEN bool_or(status = 'applied') THEN 'applied' "
    "WHEN bool_or(status = 'rejected') THEN 'rejected' END AS batch_status FROM meta.batch "
    "GROUP BY batch_id, run_id) s ON s.batch_id = q.batch_id AND s.run_id = q.run_id "
)


def quarantined_rows(
    conn: duckdb.DuckDBPyConnection,
    dataset: str | None = None,
    file_name: str | None = None,
    run_id: str | None = None,
) -> list[dict[str, Any]]:
    """Rows set aside with their lineage and reason, filtered by dataset, file and/or run.

    ``batch_status`` says whether the row's batch was applied (the row is in the quarantine) or
    rejected (the row would have been quarantined had the batch been accepted; nothing of the
    batch was used). The ingest keeps one set of rows per batch (see ``ingest._record_quarantine``).
    """
    if not table_exists(conn, "meta", "quarantine"):
        return []
    where, params = [], []
    for column, value in (("dataset", dataset), ("file_name", file_name), ("run_id", run_id)):
        if value is not None:
            where.append(f"q.{column} = ?")
            params.append(value)
    rows = _dicts(
        conn.execute(
            "SELECT q.file_name AS file, q.row_number, q.source_key, q.reason_code, q.reason, "
            "q.dataset, q.batch_id, q.run_id, q.recorded_at, "
            "coalesce(s.batch_status, 'applied') AS batch_status FROM meta.quarantine q "
            + _BATCH_STATUS_OF_ROWS
            + (f"WHERE {' AND '.join(where)} " if where else "")
            + "ORDER BY q.recorded_at, q.file_name, q.row_number",
            params,
        )
    )
    for row in rows:
        if row["source_key"] is not None and not row["source_key"].strip():
            row["source_key"] = None
    return rows


def read_overrides(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return _read(
        conn,
        "override",
        "SELECT dataset, file_name, file_sha256, check_name, accepted_by, accepted_at, reason "
        "FROM meta.override ORDER BY accepted_at",
    )


def read_checks(conn: duckdb.DuckDBPyConnection, run_id: str | None) -> list[dict[str, Any]]:
    return _read(
        conn,
        "check_result",
        "SELECT file_name, dataset, check_name, layer, blocking, passed, overridden, "
        "observed, threshold, detail, run_id, recorded_at FROM meta.check_result "
        + ("WHERE run_id = ? " if run_id else "")
        + "ORDER BY recorded_at, file_name, check_name",
        [run_id] if run_id else [],
    )


def read_publishes(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = _read(
        conn,
        "publish",
        "SELECT version, version_number, run_id, published_at, len(batch_ids) AS batches, "
        "table_rows FROM meta.publish ORDER BY version_number",
    )
    for row in rows:
        row["table_rows"] = json.loads(row["table_rows"]) if row["table_rows"] else {}
    return rows


def read_runs(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Runs that left a trace in the live registry, oldest first (a run with nothing new, or
    one that failed before recording anything, leaves none)."""
    parts = [
        f"SELECT run_id, {time_col} AS ts FROM meta.{table}"
        for table, time_col in (
            ("batch", "recorded_at"),
            ("publish", "published_at"),
            ("check_result", "recorded_at"),
            ("quarantine", "recorded_at"),
            ("held", "recorded_at"),
        )
        if table_exists(conn, "meta", table)
    ]
    if not parts:
        return []
    return _dicts(
        conn.execute(
            "SELECT run_id, min(ts) AS started, max(ts) AS finished "
            f"FROM ({' UNION ALL '.join(parts)}) GROUP BY run_id ORDER BY min(ts)"
        )
    )


def link_summary(conn: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Records per link rule, single-record residents, pending review pairs, steward decisions
    (siheyuan.audit.link_statistics, the same figures each publish records)."""
    from siheyuan.audit import link_statistics  # audit reads this module's ledger

    return link_statistics(conn)


def change_summary(conn: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The change feed of the latest version: rows per change kind (history.resident_change)."""
    if not table_exists(conn, "history", "resident_change"):
        return {}
    rows = conn.execute(
        "SELECT version_number, change_kind, count(*) FROM history.resident_change "
        "WHERE version_number = (SELECT max(version_number) FROM history.resident_change) "
        "GROUP BY 1, 2 ORDER BY 2"
    ).fetchall()
    if not rows:
        return {}
    return {
        "version_number": int(rows[0][0]),
        "by_kind": {kind: int(n) for _, kind, n in rows},
        "total": int(sum(n for *_, n in rows)),
    }


def finding_summary(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Findings of the current marts per rule and severity (marts.finding), most first."""
    if not table_exists(conn, "marts", "finding"):
        return []
    return [
        {"rule_id": rule, "severity": severity, "findings": int(n)}
        for rule, severity, n in conn.execute(
            "SELECT rule_id, severity, count(*) FROM marts.finding GROUP BY 1, 2 "
            "ORDER BY 3 DESC, 1, 2"
        ).fetchall()
    ]


def publishes_with_audit(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every recorded version with its audit record (null for versions published before the
    audit trail existed)."""
    from siheyuan.audit import read_audit

    audits = {a["version"]: a for a in read_audit(conn)}
    return [{**p, "audit": audits.get(p["version"])} for p in read_publishes(conn)]


# ---------------------------------------------------------------------------------------------
# The report of one run.


@dataclass
class AuditReport:
    """Everything the HTML page shows; every string already masked."""

    warehouse: Path
    generated_at: datetime
    current_version: str | None
    run_id: str | None
    runs: list[dict] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)  # every batch file ever seen
    run_batches: list[dict] = field(default_factory=list)  # registry rows of this run
    held: list[dict] = field(default_factory=list)  # good files this (rejected) run held back
    quarantine: list[dict] = field(default_factory=list)  # this run's rows (applied batches)
    quarantine_by_reason: list[tuple[str, str, int]] = field(default_factory=list)
    quarantine_by_reason_all: list[tuple[str, str, int]] = field(default_factory=list)
    # rows this run's rejected batches would have quarantined: not in the quarantine, since
    # nothing of a rejected batch was used, but what an auditor needs to see to fix or accept it
    rejected_rows: list[dict] = field(default_factory=list)
    rejected_rows_by_reason: list[tuple[str, str, int]] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)  # this run's results
    overrides: list[dict] = field(default_factory=list)  # all
    publishes: list[dict] = field(default_factory=list)  # all versions recorded
    audits: list[dict] = field(default_factory=list)  # meta.publish_audit records, oldest first
    links: dict = field(default_factory=dict)  # link statistics of the live (current) marts
    changes: dict = field(default_factory=dict)  # change feed of the latest version, by kind
    findings: list[dict] = field(default_factory=list)  # open findings, by rule and severity
    run_publish: dict | None = None  # the version this run published, if any
    gx_docs: Path | None = None
    run_log: Path | None = None
    notes: list[str] = field(default_factory=list)


def current_xref(layout: WarehouseLayout) -> Path | None:
    version = read_current(layout)
    path = layout.published / version / "resident_source_xref.parquet" if version else None
    return path if path is not None and path.exists() else None


def _by_reason(rows: list[dict]) -> list[tuple[str, str, int]]:
    counts = Counter((r["dataset"], r["reason_code"]) for r in rows)
    return [(d, c, n) for (d, c), n in sorted(counts.items())]


def load_report(layout: WarehouseLayout, run_id: str | None = None) -> AuditReport:
    """Read what the page shows for ``run_id`` (default: the latest run that left a trace).

    Raises ``LookupError`` for a run id the registry does not know, ``WarehouseLocked`` when the
    database cannot be read while a run writes it.
    """
    report = AuditReport(
        warehouse=layout.root,
        generated_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        current_version=read_current(layout),
        run_id=run_id,
        gx_docs=data_docs_index(layout),
    )
    with snapshot_connection(layout) as conn:
        if conn is None:
            report.notes.append("no warehouse database yet: no run has recorded anything")
            return report
        report.runs = read_runs(conn)
        known = [r["run_id"] for r in report.runs]
        if run_id is None:
            report.run_id = known[-1] if known else None
        elif run_id not in known:
            recent = ", ".join(known[-5:]) or "none"
            raise LookupError(f"no run {run_id!r} in this warehouse (latest runs: {recent})")
        report.ledger = batch_ledger(conn, current_xref(layout))
        all_rows = quarantined_rows(conn)
        all_quarantine = [r for r in all_rows if r["batch_status"] == "applied"]
        report.quarantine_by_reason_all = _by_reason(all_quarantine)
        report.overrides = read_overrides(conn)
        report.publishes = read_publishes(conn)
        from siheyuan.audit import read_audit

        report.audits = read_audit(conn)
        report.links = link_summary(conn)
        report.changes = change_summary(conn)
        report.findings = finding_summary(conn)
        for table in ("check_result", "override"):
            if not table_exists(conn, "meta", table):
                report.notes.append(
                    f"meta.{table} does not exist in this warehouse (written by the data-quality "
                    "gate from its first run on)"
                )
        if report.run_id is not None:
            rid = report.run_id
            report.run_batches = _dicts(
                conn.execute(
                    "SELECT file_name, dataset, status, reason_code, reason, rows_received, "
                    "rows_accepted, rows_quarantined, rows_duplicate, apply_seq, file_sha256, "
                    "batch_id, recorded_at FROM meta.batch WHERE run_id = ? "
                    "ORDER BY coalesce(apply_seq, 9e18), recorded_at",
                    [rid],
                )
            )
            report.held = read_held(conn, rid)
            report.quarantine = [r for r in all_quarantine if r["run_id"] == rid]
            report.quarantine_by_reason = _by_reason(report.quarantine)
            report.rejected_rows = [
                r for r in all_rows if r["run_id"] == rid and r["batch_status"] == "rejected"
            ]
            report.rejected_rows_by_reason = _by_reason(report.rejected_rows)
            report.checks = read_checks(conn, rid)
            report.run_publish = next((p for p in report.publishes if p["run_id"] == rid), None)
            log = layout.logs_dir / f"run-{rid}.log"
            report.run_log = log if log.exists() else None
    in_xref = {b["batch_id"]: b["rows_in_xref"] for b in report.ledger}
    if_accepted = {b["batch_id"]: b["rows_quarantined_if_accepted"] for b in report.ledger}
    for b in report.run_batches:
        b["rows_in_xref"] = in_xref.get(b["batch_id"]) if b["status"] == "applied" else None
        b["rows_quarantined_if_accepted"] = (
            if_accepted.get(b["batch_id"]) if b["status"] == "rejected" else None
        )
    return report


def default_report_path(layout: WarehouseLayout, run_id: str | None) -> Path:
    return layout.root / "reports" / f"report-{run_id or 'empty'}.html"


def write_report(
    layout: WarehouseLayout, out: Path | None = None, run_id: str | None = None
) -> Path:
    """Render the page for ``run_id`` to ``out`` (default ``<warehouse>/reports/``); its path."""
    from siheyuan.report_html import render

    report = load_report(layout, run_id)
    path = out or default_report_path(layout, report.run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(report, path.parent), encoding="utf-8")
    tmp.replace(path)
    return path


def held_entries(conn: duckdb.DuckDBPyConnection, ledger: list[dict]) -> list[dict[str, Any]]:
    """Every file a rejected run held back, with what became of it later (from the ledger)."""
    later = {(b["file"], b["sha256"]): b for b in ledger}
    entries = []
    for h in read_held(conn):
        settled = later.get((h["file_name"], h["file_sha256"]))
        entries.append(
            {
                "file": h["file_name"],
                "dataset": h["dataset"],
                "sha256": h["file_sha256"],
                "extract_date": h["extract_date"],
                "seq": h["seq"],
                "run_id": h["run_id"],
                "recorded_at": h["recorded_at"],
                "because_of": h["because_of"],
                "reason": h["reason"],
                # its outcome since (applied / duplicate / rejected), null while it still waits
                "later_status": settled["status"] if settled else None,
                "later_run_id": settled["run_id"] if settled else None,
            }
        )
    return entries


def ledger_json(layout: WarehouseLayout, run_id: str | None = None) -> dict[str, Any]:
    """The document ``siheyuan report --json`` prints.

    ``batches``: every batch file with an outcome (``status`` applied / rejected / duplicate);
    ``held``: files a rejected run did not apply (they have no outcome of their own in that run).
    With ``run_id``: the files that run recorded an outcome for, or held back. Added later (the
    first two keys are unchanged for the tools that read them): ``publishes`` (every version
    with its audit record; with ``run_id``, the one that run published), ``links``, ``changes``
    (the latest version's change feed by kind) and ``findings`` (per rule and severity).
    """
    links: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    findings: list[dict[str, Any]] = []
    publishes: list[dict[str, Any]] = []
    with snapshot_connection(layout) as conn:
        batches = batch_ledger(conn, current_xref(layout)) if conn is not None else []
        held = held_entries(conn, batches) if conn is not None else []
        if conn is not None:
            publishes = publishes_with_audit(conn)
            links = link_summary(conn)
            changes = change_summary(conn)
            findings = finding_summary(conn)
    if run_id is not None:
        batches = [
            b
            for b in batches
            if b["run_id"] == run_id or any(h["run_id"] == run_id for h in b["history"])
        ]
        held = [h for h in held if h["run_id"] == run_id]
        publishes = [p for p in publishes if p["run_id"] == run_id]
    return {
        "batches": batches,
        "held": held,
        "publishes": publishes,
        "links": links,
        "changes": changes,
        "findings": findings,
    }


def quarantine_json(
    layout: WarehouseLayout, dataset: str | None = None, file_name: str | None = None
) -> list[dict[str, Any]]:
    """Rows for ``siheyuan quarantine --json``: quarantined rows of applied batches and the rows
    rejected batches would have quarantined, told apart by ``batch_status``."""
    with snapshot_connection(layout) as conn:
        return quarantined_rows(conn, dataset, file_name) if conn is not None else []
