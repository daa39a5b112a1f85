"""Run the Dagster job in-process, without a webserver, and say what happened.

This is what ``siheyuan run`` and ``siheyuan demo`` call; the Dagster UI runs the same job.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siheyuan.contracts import load_contracts
from siheyuan.db_sources import PullFailed
from siheyuan.held import record_held
from siheyuan.ingest import probe_pull
from siheyuan.landing import LandedFile, UnrecognisedFile, discover
from siheyuan.publish import read_current, recover
from siheyuan.rejections import never_applicable, set_aside_reason
from siheyuan.run_log import RunLog
from siheyuan.runlock import RunLock, WarehouseBusy
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import connect, table_exists

log = logging.getLogger(__name__)


@dataclass
class Plan:
    new: list[LandedFile]
    unrecognised: list[UnrecognisedFile]


@dataclass
class RunReport:
    status: str  # published | nothing_new | rejected | busy | failed
    run_id: str | None = None
    version: str | None = None
    message: str | None = None
    batches: list[dict] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)
    unrecognised: list[UnrecognisedFile] = field(default_factory=list)
    # good files of a rejected run, not applied (see siheyuan.held): file_name, dataset, reason…
    held: list[dict] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.status in ("published", "nothing_new") else 1


def plan(landing: Path, layout: WarehouseLayout) -> Plan:
    """Which landed files the live registry has not settled yet (applied or duplicate)."""
    files, unrecognised = discover(landing, load_contracts())
    settled: set[tuple[str, str]] = set()
    spent: dict[tuple[str, str], str] = {}
    if layout.database.exists():
        with connect(layout.database, read_only=True) as conn:
            if table_exists(conn, "meta", "batch"):
                settled = set(
                    conn.execute(
                        "SELECT file_name, file_sha256 FROM meta.batch "
                        "WHERE status IN ('applied', 'duplicate')"
                    ).fetchall()
                )
                spent = never_applicable(conn)
    # New: a (name, content) the registry has not settled — new content, or a replay under a
    # new name, which the run records as a duplicate so an auditor sees every file that arrived.
    # A content refused for good is left out, with a warning, so it cannot block later runs.
    new = [f for f in files if (f.file_name, f.sha256) not in settled | spent.keys()]
    unrecognised += [
        UnrecognisedFile(f.path, set_aside_reason(spent[f.file_name, f.sha256]))
        for f in files
        if (f.file_name, f.sha256) in spent
    ]
    return Plan(new, unrecognised)


def pending_pulls(layout: WarehouseLayout) -> list[str]:
    """The database sources whose pull brings something to apply (new rows, a changed snapshot,
    or a result the gate must refuse); raises :class:`PullFailed` naming the source.

    Each source is read once here; the run that follows applies that same pull.
    """
    news: list[str] = []
    for contract in load_contracts().values():
        if not contract.is_database:
            continue
        batch = probe_pull(layout.database, contract)
        if batch is not None:
            news.append(contract.dataset)
    return news


def _batches_of_run(layout: WarehouseLayout, run_id: str) -> list[dict]:
    if not layout.database.exists():
        return []
    with connect(layout.database, read_only=True) as conn:
        cur = conn.execute(
            "SELECT file_name, dataset, status, reason, rows_received, rows_accepted, "
            "rows_quarantined, rows_duplicate FROM meta.batch WHERE run_id = ? "
            "ORDER BY coalesce(apply_seq, 9e18), extract_date, seq, dataset",
            [run_id],
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _table_rows(layout: WarehouseLayout, version: str) -> dict[str, int]:
    with connect(layout.database, read_only=True) as conn:
        row = conn.execute(
            "SELECT table_rows FROM meta.publish WHERE version = ?", [version]
        ).fetchone()
    return json.loads(row[0]) if row else {}


def _pending_decisions(layout: WarehouseLayout) -> int:
    """Steward decisions and rebuild requests recorded since the last publish (they re-link
    and republish without new data)."""
    from siheyuan.rebuild import pending_rebuilds
    from siheyuan.review import pending_decisions
    from siheyuan.warehouse import connect

    if not layout.database.exists():
        return 0
    with connect(layout.database, read_only=True) as conn:
        return pending_decisions(conn) + pending_rebuilds(conn)


def run_job(landing: Path, warehouse: Path, console_level: str = "CRITICAL") -> RunReport:
    """Apply every new batch under ``landing`` to ``warehouse`` and publish."""
    import dagster as dg

    from siheyuan.definitions import JOB_NAME, build_definitions

    layout = WarehouseLayout(warehouse)
    if not landing.is_dir():
        return RunReport("failed", message=f"landing folder {landing} does not exist")
    layout.root.mkdir(parents=True, exist_ok=True)
    with RunLog(layout.logs_dir) as run_log:
        try:
            with RunLock(layout.lock_file):
                for action in recover(layout):
                    log.warning("recovery: %s", action)
        except WarehouseBusy as exc:
            return RunReport("busy", version=read_current(layout), message=str(exc))
        the_plan = plan(landing, layout)
        for u in the_plan.unrecognised:
            log.warning("ignored %s: %s", u.path.name, u.reason)
        try:
            pulls = pending_pulls(layout)
        except PullFailed as exc:  # one line naming the source; nothing was applied
            return RunReport(
                "failed",
                version=read_current(layout),
                message=str(exc),
                unrecognised=the_plan.unrecognised,
            )
        decided = _pending_decisions(layout)
        if not the_plan.new and not pulls and not decided:
            databases = any(c.is_database for c in load_contracts().values())
            return RunReport(
                "nothing_new",
                version=read_current(layout),
                message="nothing new in the landing folder"
                + (" or the database sources" if databases else ""),
                unrecognised=the_plan.unrecognised,
            )
        if the_plan.new:
            log.info("%d new batch file(s) to apply", len(the_plan.new))
        if pulls:
            log.info("new rows to apply from database source(s): %s", ", ".join(pulls))
        if decided:
            log.info("%d steward decision(s) since the last publish to apply", decided)
        version_before = read_current(layout)
        defs = build_definitions(warehouse=str(warehouse), landing=str(landing))
        instance = dg.DagsterInstance.ephemeral(settings={"telemetry": {"enabled": False}})
        run_id = str(uuid.uuid4())
        log_path = run_log.path(run_id)
        # The run's own log lines, Dagster's event log and dbt's output go to the run's log
        # file; the engineer's terminal gets the siheyuan lines and the outcome only.
        with run_log.writing(run_id) as file_logger:
            job = defs.resolve_job_def(JOB_NAME).with_logger_defs(
                {"console": dg.colored_console_logger, "run_log": file_logger}
            )
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_id=run_id,
                run_config={
                    "loggers": {
                        "console": {"config": {"log_level": console_level}},
                        "run_log": {},
                    }
                },
            )
    log.info("run log: %s", log_path)
    batches = _batches_of_run(layout, run_id)
    if result.success:
        version = read_current(layout)
        # a new batch, or a steward's decision that re-linked the residents
        published = version is not None and version != version_before
        return RunReport(
            "published" if published else "nothing_new",
            run_id=run_id,
            version=version,
            batches=batches,
            table_rows=_table_rows(layout, version) if (published and version) else {},
            unrecognised=the_plan.unrecognised,
        )
    rejections = _rejections(result)
    if rejections:
        more = f" (+{len(rejections) - 1} more rejected file(s))" if len(rejections) > 1 else ""
        recorded = {b["file_name"] for b in batches}
        for file_name, dataset, reason in rejections:
            if file_name not in recorded:  # rejected in an earlier run and still unchanged
                batches.append(
                    {
                        "file_name": file_name,
                        "dataset": dataset,
                        "status": "rejected",
                        "reason": reason,
                        "rows_received": None,  # not read again: refused unchanged
                        "rows_accepted": 0,
                        "rows_quarantined": 0,
                        "rows_duplicate": 0,
                    }
                )
        return RunReport(
            "rejected",
            run_id=run_id,
            version=read_current(layout),
            message=rejections[0][2] + more,
            batches=batches,
            unrecognised=the_plan.unrecognised,
            held=_hold(layout, run_id, the_plan.new, batches, [r[0] for r in rejections]),
        )
    return RunReport(
        "failed",
        run_id=run_id,
        version=read_current(layout),
        message=_failure_message(result) + f" (run log: {log_path})",
        batches=batches,
        unrecognised=the_plan.unrecognised,
    )


def _hold(
    layout: WarehouseLayout,
    run_id: str,
    new: list[LandedFile],
    batches: list[dict],
    rejected_files: list[str],
) -> list[dict]:
    """Record the run's other new files as held back: their work went with the working copy."""
    outcome = {b["file_name"] for b in batches} | set(rejected_files)
    held = [f for f in new if f.file_name not in outcome]
    try:
        return record_held(layout, run_id, held, rejected_files)
    except WarehouseBusy:  # another run started meanwhile; it applies these files anyway
        log.warning("could not record %d held file(s): the warehouse is busy", len(held))
        return []


def _rejections(result: Any) -> list[tuple[str, str, str]]:
    """(file, dataset, reason) of every batch an ingest step refused in this run.

    A refusal is a blocking asset check that failed with severity ERROR (the quality gate; its
    metadata names the file), or — kept for steps that raise — a ``Failure`` naming the file.
    """
    found: list[tuple[str, str, str]] = []
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            meta = evaluation.metadata or {}
            if evaluation.passed or "file" not in meta or "ERROR" not in str(evaluation.severity):
                continue
            entry = (meta["file"].value, meta["dataset"].value, evaluation.description or "")
        elif event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            failure = data.user_failure_data if data else None
            if failure is None or "file" not in (failure.metadata or {}):
                continue
            meta = failure.metadata
            entry = (meta["file"].value, meta["dataset"].value, failure.description or "")
        else:
            continue
        if all(f[0] != entry[0] for f in found):  # one line per file, its first failed check
            found.append(entry)
    return found


def _failure_message(result: Any) -> str:
    failures = [
        e for e in result.all_events if e.event_type_value in ("STEP_FAILURE", "RUN_FAILURE")
    ]
    if not failures:
        return "run failed"
    event = failures[0]
    data = event.step_failure_data if event.event_type_value == "STEP_FAILURE" else None
    err = data.user_failure_data.description if data and data.user_failure_data else None
    if not err and data and data.error and data.error.message:
        err = data.error.message.strip().splitlines()[-1]
    where = f"step {event.step_key}" if event.step_key else "run"
    return f"{where} failed: {err or event.message or 'see the run log'}"
