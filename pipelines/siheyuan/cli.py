"""The ``siheyuan`` command: run the hub without a webserver.

``run`` applies new batches and publishes; ``demo`` generates a sample and runs it; ``generate``
writes department extracts; ``status`` shows the current version and the batches applied;
``report`` / ``quarantine`` show auditors what came in and what was set aside, ``accept`` records
a deliberate override of a blocked batch; ``evaluate`` measures a run against generated ground
truth; ``asof`` answers from the history what was published on a date; ``ui`` starts the Dagster
UI on the same code.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from siheyuan.cli_bench import bench
from siheyuan.cli_publish import publish
from siheyuan.settings import (
    LANDING_ENV,
    WAREHOUSE_ENV,
    ConfigurationError,
    WarehouseLayout,
    project_root,
    resolve_landing,
    resolve_warehouse,
)
from siheyuan.targets import Targets, load_targets

# Wide enough for file names when output is piped or captured (rich assumes 80 columns there).
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
console = Console(width=None if sys.stdout.isatty() else 120)


def _quiet_third_parties() -> None:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


class _MaskingFilter(logging.Filter):
    """Mask every console log line, as the run log does: a message may name a landed file,
    and a department may name a file after a person (``330106…_王五_高血压.jsonl``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from siheyuan.quality.privacy import mask_text

        record.msg, record.args = mask_text(record.getMessage()) or "", None
        return True


def _setup_logging(verbose: bool) -> None:
    handler = RichHandler(console=err, show_path=False, show_time=True, markup=False)
    handler.addFilter(_MaskingFilter())
    logger = logging.getLogger("siheyuan")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    for noisy in ("dagster", "dbt", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


class _Group(click.Group):
    """Every command: a contract or quality settings file that cannot be used is one line."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            click.echo(f"error: {' '.join(str(exc).split())}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
def main(verbose: bool) -> None:
    """siheyuan (四合院): one resident/household/building master from four departments."""
    _quiet_third_parties()
    _setup_logging(verbose)


warehouse_option = click.option(
    "--warehouse",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Warehouse folder (default ${WAREHOUSE_ENV} or ./warehouse).",
)
landing_option = click.option(
    "--landing",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Landing folder (default ${LANDING_ENV} or ./landing).",
)


def _print_run(report, elapsed: float) -> None:
    if report.batches:
        table = Table(title="Batches", title_justify="left")
        for col in (
            "file",
            "dataset",
            "status",
            "received",
            "accepted",
            "quarantined",
            "duplicate",
        ):
            table.add_column(
                col,
                justify="right"
                if col in ("received", "accepted", "quarantined", "duplicate")
                else "left",
            )
        for b in report.batches:
            table.add_row(
                b["file_name"],
                b["dataset"],
                b["status"],
                *(
                    "—" if b[k] is None else f"{b[k]:,}"  # None: not read
                    for k in (
                        "rows_received",
                        "rows_accepted",
                        "rows_quarantined",
                        "rows_duplicate",
                    )
                ),
            )
        console.print(table)
    if report.table_rows:
        table = Table(title=f"Published {report.version}", title_justify="left")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, rows in report.table_rows.items():
            table.add_row(name, f"{rows:,}")
        console.print(table)
    for h in report.held:
        console.print(f"held back {h['file_name']} ({h['dataset']}): {h['reason']}")
    if report.status == "published":
        console.print(f"published {report.version} in {elapsed:.1f}s")
    elif report.status == "nothing_new":
        console.print(f"nothing new; current version {report.version or '(none yet)'}")


def _run(landing: Path, warehouse: Path) -> int:
    from siheyuan.runner import run_job

    started = time.monotonic()
    with err.status("running siheyuan_job…", spinner="dots"):
        report = run_job(landing, warehouse)
    _print_run(report, time.monotonic() - started)
    if report.exit_code:
        # One line that names the file and the reason: what scripts and engineers read first.
        click.echo(f"error: {report.message}", err=True)
        if report.version:
            click.echo(f"CURRENT unchanged at {report.version}", err=True)
    return report.exit_code


@main.command()
@landing_option
@warehouse_option
@click.option(
    "--rebuild",
    is_flag=True,
    help="Also republish the batches already applied (after a change of survivorship or "
    "finding rules, tags, linking thresholds); recorded with --by and --why.",
)
@click.option("--by", "requested_by", default=None, help="With --rebuild: who asks (recorded).")
@click.option("--why", "reason", default=None, help="With --rebuild: why (recorded).")
def run(
    landing: Path | None,
    warehouse: Path | None,
    rebuild: bool,
    requested_by: str | None,
    reason: str | None,
) -> None:
    """Apply every new batch in the landing folder and publish a new version."""
    from siheyuan.cli_publish import check_publish_on_run

    layout_root = resolve_warehouse(warehouse)
    targets = load_targets()
    check_publish_on_run(targets)  # before anything is recorded or applied
    if rebuild or requested_by or reason:
        from siheyuan.rebuild import request_rebuild
        from siheyuan.runlock import WarehouseBusy

        if not rebuild:
            click.echo("error: --by and --why go with --rebuild", err=True)
            sys.exit(2)
        try:
            request_rebuild(WarehouseLayout(layout_root), requested_by or "", reason or "")
        except (ValueError, WarehouseBusy) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
    sys.exit(_run_and_publish(resolve_landing(landing), layout_root, targets))


def _run_and_publish(landing: Path, warehouse: Path, targets: Targets) -> int:
    """``_run``, then — when ``targets.yml`` says so — the new version to PostgreSQL too.

    Done here, after the run's lock is released, rather than as a step of the Dagster job: a
    failed step would fail the run (reported as "CURRENT unchanged" although the version is
    committed), and the copy into PostgreSQL needs only the immutable version folder, not the
    warehouse lock the next run waits for. A failure is one masked line naming the target and
    exit 3 (``POSTGRES_FAILED_EXIT``); ``siheyuan publish`` retries.
    """
    from siheyuan.cli_publish import publish_after_run
    from siheyuan.publish import read_current
    from siheyuan.targets import POSTGRES_FAILED_EXIT

    layout = WarehouseLayout(warehouse)
    before = read_current(layout)
    code = _run(landing, warehouse)
    after = read_current(layout)
    if code or not targets.postgres.publish_on_run or after is None or after == before:
        return code
    failure = publish_after_run(targets, warehouse, after)
    if failure is None:
        return code
    click.echo(
        f"error: {failure} ({after} stays current in the warehouse; retry: siheyuan publish)",
        err=True,
    )
    return POSTGRES_FAILED_EXIT


@main.command()
@click.option("--persons", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo"),
    show_default=True,
    help="Where the sample (landing/ and truth/) is generated.",
)
@warehouse_option
def demo(persons: int, seed: int, folder: Path, warehouse: Path | None) -> None:
    """Generate a sample population and run it into ./warehouse (the embedded default)."""
    from siheyuan.generate import generate_sample

    with err.status(f"generating {persons:,} persons…", spinner="dots"):
        summary = generate_sample(persons=persons, seed=seed, out=folder, round_no=1)
    err.print(
        f"generated {len(summary.rows())} files into {folder / 'landing'} "
        f"in {summary.elapsed_seconds:.1f}s"
    )
    sys.exit(_run((folder / "landing").resolve(), resolve_warehouse(warehouse)))


@main.command()
@click.option("--persons", type=click.IntRange(min=1), required=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Writes OUT/landing/<department>/… and the ground truth to OUT/truth/.",
)
@click.option(
    "--round",
    "round_no",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Month of changes to write (2 = the month after the first extract).",
)
@click.option(
    "--change-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Multiply the monthly change rates (world.yml change_scaled_rates) of the months "
    "replayed; 0.2 is about a fifth of the usual changes.",
)
def generate(persons: int, seed: int, out: Path, round_no: int, change_scale: float) -> None:
    """Write the five department extracts for a generated population (and the ground truth)."""
    from siheyuan.generate import generate_sample

    with err.status(f"generating {persons:,} persons, round {round_no}…", spinner="dots"):
        summary = generate_sample(
            persons=persons, seed=seed, out=out, round_no=round_no, change_scale=change_scale
        )
    table = Table(title=f"Generated round {round_no}", title_justify="left")
    table.add_column("file")
    table.add_column("dataset")
    table.add_column("rows", justify="right")
    for file, dataset, rows in summary.rows():
        table.add_row(str(file), dataset, f"{rows:,}")
    console.print(table)
    console.print(f"done in {summary.elapsed_seconds:.1f}s; truth in {out / 'truth'}")


@main.command()
@warehouse_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status(warehouse: Path | None, as_json: bool) -> None:
    """Show the current published version, the batches seen and the rejections still open.

    A rejection that a later run resolved (the same content applied after an override, a
    corrected file of that name, or a later snapshot) is marked "rejected, resolved".
    """
    from siheyuan.status import warehouse_status

    layout = _existing_warehouse(warehouse)
    info = _read_or_exit(lambda: warehouse_status(layout))
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2, default=str))
        return
    console.print(f"warehouse: {info['warehouse']}")
    console.print(f"current version: {info['current_version'] or '(none published yet)'}")
    if info["versions"]:
        console.print(f"versions kept: {', '.join(info['versions'])}")
    table = Table(title="Batches", title_justify="left")
    for col in ("#", "file", "dataset", "status", "accepted", "quarantined", "recorded"):
        table.add_column(col)
    for b in info["batches"]:
        table.add_row(
            str(b["apply_seq"] or "-"),
            b["file_name"],
            b["dataset"],
            b["status"] + (", resolved" if b["resolution"] else ""),
            f"{b['rows_accepted'] or 0:,}",
            f"{b['rows_quarantined'] or 0:,}",
            str(b["recorded_at"])[:19],
        )
    console.print(table)
    for b in info["batches"]:
        if b["status"] == "rejected" and not b["resolution"]:
            console.print(f"[red]rejected[/red] {escape(b['reason'] or '')}", highlight=False)
    if info["resolved_rejections"]:
        console.print(
            f"{info['resolved_rejections']} earlier rejection(s) resolved since: a later run "
            "applied that content, a corrected file or a later snapshot (status --json says which)"
        )


def _existing_warehouse(warehouse: Path | None) -> WarehouseLayout:
    """The warehouse to read; a path that is not one is one clear line and exit 1.

    A mistyped --warehouse must not read as "an empty warehouse" (empty lists, exit 0).
    """
    layout = WarehouseLayout(resolve_warehouse(warehouse))
    if not layout.root.is_dir():
        click.echo(f"error: no warehouse at {layout.root}", err=True)
        sys.exit(1)
    return layout


def _read_or_exit(read):
    """Run a warehouse read; a run holding the database is one clear line and exit 1."""
    from siheyuan.report import WarehouseLocked

    try:
        return read()
    except WarehouseLocked as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _print_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@main.command()
@warehouse_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the HTML page (default <warehouse>/reports/report-<run>.html).",
)
@click.option("--run", "run_id", default=None, help="The run to report (default: the latest).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"batches": [...], "held": [...]}: every batch file ever seen with its outcome, '
    "and the good files a rejected run held back (with --run: that run's).",
)
def report(warehouse: Path | None, out: Path | None, run_id: str | None, as_json: bool) -> None:
    """Write the auditor's report: what came in, what was rejected and why, what was published."""
    from siheyuan.report import ledger_json, load_report, write_report

    layout = _existing_warehouse(warehouse)
    try:
        if as_json:
            ledger = _read_or_exit(lambda: ledger_json(layout, run_id))
            if run_id is not None and not ledger["batches"] and not ledger["held"]:
                # Nothing for that run: tell an unknown run id apart from a run with nothing to
                # list, with the very message the page gives (load_report raises it).
                _read_or_exit(lambda: load_report(layout, run_id))
            _print_json(ledger)
            return
        path = _read_or_exit(lambda: write_report(layout, out, run_id))
    except LookupError as exc:
        click.echo(f"error: {exc.args[0]}", err=True)
        sys.exit(1)
    click.echo(str(path))


@main.command()
@warehouse_option
@click.option(
    "--dataset", default=None, help="Only rows of this dataset (one of the source contracts')."
)
@click.option("--file", "file_name", default=None, help="Only rows of this batch file (name).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of rows.")
def quarantine(
    warehouse: Path | None, dataset: str | None, file_name: str | None, as_json: bool
) -> None:
    """List quarantined rows, and the rows rejected batches would have quarantined: file, row
    number, source key, reason, batch (applied / rejected); sensitive values masked."""
    from siheyuan.contracts import load_contracts
    from siheyuan.report import quarantine_json

    layout = _existing_warehouse(warehouse)
    known = sorted(load_contracts())
    if dataset is not None and dataset not in known:
        # a typo would otherwise read as "no quarantined rows"
        click.echo(f"error: unknown dataset {dataset!r} (datasets: {', '.join(known)})", err=True)
        sys.exit(1)
    rows = _read_or_exit(lambda: quarantine_json(layout, dataset, file_name))
    if as_json:
        _print_json(rows)
        return
    if not rows:
        console.print(
            "no quarantined rows" + (" matching the filter" if dataset or file_name else "")
        )
        return
    table = Table(title=f"Quarantined rows ({len(rows):,})", title_justify="left")
    for col in ("file", "row", "source key", "reason code", "reason", "batch"):
        table.add_column(col, justify="right" if col == "row" else "left")
    for r in rows:
        # escaped: file names come from departments, and a masked reason holds [健康信息]
        cells = (r["file"], r["row_number"], r["source_key"] or "-", r["reason_code"], r["reason"])
        table.add_row(*(escape(str(c)) for c in cells), r["batch_status"])
    console.print(table)
    if any(r["batch_status"] == "rejected" for r in rows):
        console.print(
            "batch rejected: the file was not applied; these rows would be quarantined if it "
            "were accepted (siheyuan accept)",
            highlight=False,
        )


@main.command()
@warehouse_option
@landing_option
@click.option("--file", "file_name", required=True, help="The rejected batch file (name).")
@click.option("--check", "check_name", required=True, help="The blocking check to let it pass.")
@click.option("--by", "accepted_by", required=True, help="Who accepts it (recorded).")
@click.option("--reason", required=True, help="Why (recorded, shown in the audit report).")
def accept(
    warehouse: Path | None,
    landing: Path | None,
    file_name: str,
    check_name: str,
    accepted_by: str,
    reason: str,
) -> None:
    """Deliberately accept a batch a threshold blocked; the next run applies it.

    Refused (exit 1) when the rejection is already resolved (that content, a corrected file of
    that name or a later snapshot was applied since) or the content is already accepted for that
    check: a second override would change nothing but the audit trail.
    """
    from siheyuan.quality.overrides import accept_batch, landed_file_changed
    from siheyuan.quality.privacy import mask_text
    from siheyuan.runlock import WarehouseBusy

    layout = WarehouseLayout(resolve_warehouse(warehouse))
    try:
        override = accept_batch(layout, file_name, check_name, accepted_by, reason)
    except (ValueError, WarehouseBusy) as exc:
        click.echo(f"error: {mask_text(str(exc))}", err=True)
        sys.exit(1)
    accepted = (
        f"accepted {override.file_name} (content {override.file_sha256[:12]}…) for "
        f"{override.check_name} by {override.accepted_by} at "
        f"{override.accepted_at:%Y-%m-%d %H:%M} UTC"
    )
    changed = landed_file_changed(override, resolve_landing(landing))
    if changed:
        click.echo(
            f"{accepted}; but the file in the landing folder has changed since it was rejected: "
            "the override applies only to the rejected content, and the next run checks the "
            "changed file afresh"
        )
    elif changed is None:
        click.echo(
            f"{accepted}; the next run applies that content if it is in the landing folder "
            "(the file is not in this landing folder now)"
        )
    else:
        click.echo(f"{accepted}; the next run applies it")


@main.command()
@click.option(
    "--truth",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="The truth folder siheyuan generate wrote (or one of its round_<K> folders).",
)
@click.option(
    "--round",
    "round_no",
    type=click.IntRange(min=1),
    default=None,
    help="The round of the truth to compare with (default: the latest round the warehouse has "
    "applied, every file of it). An error if the warehouse has not applied it.",
)
@warehouse_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the JSON (default <warehouse>/reports/evaluate-round<K>.json).",
)
@click.option(
    "--details",
    is_flag=True,
    help="Also list which kinds of record pairs are falsely merged or missed, with examples.",
)
def evaluate(
    truth: Path,
    round_no: int | None,
    warehouse: Path | None,
    as_json: bool,
    out: Path | None,
    details: bool,
) -> None:
    """Measure a run against the generator's ground truth (ID numbers, building keys, linking).

    Prints which round of the truth it compared with and writes the figures as JSON (see
    docs/evaluation.md). Exits 1 when a target is missed, so a release check can gate on it, and
    when the warehouse has not applied the round.
    """
    from siheyuan.evaluate import evaluate as measure
    from siheyuan.evaluate import format_text, json_path, write_json

    layout = _existing_warehouse(warehouse)
    try:
        result = _read_or_exit(lambda: measure(truth, layout.root, round_no))
    except (FileNotFoundError, LookupError) as exc:  # LookupError: the round was not applied
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    written = write_json(result, out or json_path(layout.root, result["round"]))
    if as_json:
        _print_json(result)
    else:
        click.echo(format_text(result, details))
        click.echo(f"JSON: {written}")
    sys.exit(0 if result["meets_targets"] else 1)


@main.command()
@warehouse_option
@click.option(
    "--reason",
    "only_reason",
    default=None,
    type=click.Choice(["uncertain", "ambiguous", "id_conflict"]),
    help="List only items queued for this reason.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="List at most N items.")
@click.option("--pair", "pair_id", default=None, help="Decide this queued pair (its pair_id).")
@click.option("--left", default=None, help="Decide any two records: DATASET:KEY (with --right).")
@click.option("--right", default=None, help="The other record, DATASET:KEY.")
@click.option(
    "--must-link",
    "decision",
    flag_value="must_link",
    default=None,
    help="The two records are one person.",
)
@click.option(
    "--cannot-link", "decision", flag_value="cannot_link", help="The two records are two people."
)
@click.option("--by", "decided_by", default=None, help="Who decides (recorded).")
@click.option("--why", "why", default=None, help="Why (recorded, shown by explain).")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
def review(
    warehouse: Path | None,
    only_reason: str | None,
    limit: int | None,
    pair_id: str | None,
    left: str | None,
    right: str | None,
    decision: str | None,
    decided_by: str | None,
    why: str | None,
    as_json: bool,
) -> None:
    """List the pairs entity resolution left to a data steward, or record a decision.

    Without --must-link/--cannot-link: the open queue, strongest pairs first, each with both
    records (ID numbers and phones masked) and every comparison's match weight. With one: the
    decision on --pair P… (or on any two records, --left/--right DATASET:KEY, e.g. to split a
    resident explain shows), with --by and --why. Every later run applies it; a re-run or a
    re-train never loses it.
    """
    from siheyuan.quality.privacy import mask_text
    from siheyuan.review import decide, parse_record, queue
    from siheyuan.runlock import WarehouseBusy

    layout = _existing_warehouse(warehouse)
    if decision is None:
        if pair_id or left or right or decided_by or why:
            click.echo("error: a decision needs --must-link or --cannot-link", err=True)
            sys.exit(1)
        try:
            items = _read_or_exit(lambda: queue(layout, only_reason, limit))
        except FileNotFoundError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        if as_json:
            _print_json(items)
            return
        if not items:
            click.echo("the review queue is empty")
        for item in items:
            a, b = item["left"], item["right"]
            click.echo(f"{item['pair_id']}  {item['reason']}  weight {item['match_weight']}")
            for side in (a, b):
                if side:
                    click.echo(
                        f"    {side['dataset']} {side['source_key']}  {side['name']}  "
                        f"born {side['birth_date']}  sex {side['sex_code']}  "
                        f"ID {side['id_number'] or '-'}  {side['address'] or ''}"
                    )
            if item["comparison_weights"]:
                click.echo(
                    "    "
                    + "  ".join(f"{k} {v:+.1f}" for k, v in item["comparison_weights"].items())
                )
        return
    try:
        records = None
        if left or right:
            if not (left and right):
                raise ValueError("name both records: --left DATASET:KEY --right DATASET:KEY")
            records = (parse_record(left), parse_record(right))
        made = decide(
            layout, decision, decided_by or "", why or "", pair_id=pair_id, records=records
        )
    except (ValueError, WarehouseBusy) as exc:
        click.echo(f"error: {mask_text(str(exc))}", err=True)
        sys.exit(1)
    click.echo(
        f"recorded {made.decision} for {made.pair_id} ({made.left_dataset} ~ {made.right_dataset}) "
        f"by {made.decided_by}; every later run applies it"
    )


@main.command()
@click.argument("resident_id")
@warehouse_option
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@click.option(
    "--version",
    "version",
    default=None,
    metavar="V",
    help="As published version V had the resident (v000003); the link evidence is current.",
)
def explain(resident_id: str, warehouse: Path | None, as_json: bool, version: str | None) -> None:
    """Every source record of a resident and why it was linked: the rule, the Splink waterfall
    (prior and each comparison's weight), steward decisions and open review items."""
    from siheyuan.explain import explain as build
    from siheyuan.explain import format_text

    layout = _existing_warehouse(warehouse)
    _answer(lambda: build(layout, resident_id, version), format_text, as_json)


@main.command()
@click.argument("day", metavar="DATE", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--building", "building_id", default=None, help="Who lived in this building.")
@click.option("--resident", "resident_id", default=None, help="This resident as they were.")
@click.option("--household", "household_id", default=None, help="This 户 and its members.")
@warehouse_option
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def asof(
    day,
    building_id: str | None,
    resident_id: str | None,
    household_id: str | None,
    warehouse: Path | None,
    as_json: bool,
) -> None:
    """The published state on DATE (YYYY-MM-DD), from the history tables: who lived in a
    building, a resident's row, a household and its members. ID numbers and phones are masked.
    """
    from siheyuan.asof import asof as answer
    from siheyuan.asof import format_text

    if building_id is None and resident_id is None and household_id is None:
        raise click.UsageError("give --building, --resident or --household (or several)")
    layout = _existing_warehouse(warehouse)
    _answer(
        lambda: answer(
            layout,
            day.date(),
            building_id=building_id,
            resident_id=resident_id,
            household_id=household_id,
        ),
        format_text,
        as_json,
    )


def _answer(
    read: Callable[[], dict[str, Any]], as_text: Callable[[dict[str, Any]], str], as_json: bool
) -> None:
    """Print what ``read`` answers from the warehouse, as JSON or text; exit 1 with one line
    when there is nothing to answer from (no run yet, no such resident or version)."""
    try:
        result = _read_or_exit(read)
    except (FileNotFoundError, LookupError) as exc:
        click.echo(f"error: {exc.args[0] if exc.args else exc}", err=True)
        sys.exit(1)
    if as_json:
        _print_json(result)
    else:
        click.echo(as_text(result))


@main.command()
@warehouse_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the model (default: the committed person_model.json).",
)
def train(warehouse: Path | None, out: Path | None) -> None:
    """Re-train the person-matching model on a warehouse's person records (no truth is read).

    Reproducible: the same warehouse gives a byte-identical file. Stewards' decisions are data,
    not model: a re-train never touches them.
    """
    from siheyuan.linking.config import linking_settings
    from siheyuan.linking.predict import MODEL_PATH
    from siheyuan.linking.train import read_features, write_model
    from siheyuan.linking.train import train as fit

    layout = _existing_warehouse(warehouse)
    if not layout.database.exists():
        click.echo(f"error: no warehouse database in {layout.root}", err=True)
        sys.exit(1)
    features = _read_or_exit(lambda: read_features(layout.database))
    path = write_model(fit(features, linking_settings().m_floor), out or MODEL_PATH)
    click.echo(f"trained on {features.num_rows:,} person records; model written to {path}")


@main.command()
@click.option("--port", type=int, default=3000, show_default=True)
def ui(port: int) -> None:
    """Start the Dagster UI (dagster dev) on this project, storage in ./.dagster."""
    home = project_root()
    bin_dir = str(Path(sys.executable).parent)  # dagster and dbt live beside this interpreter
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
    }
    os.chdir(home)
    args = ["dagster", "dev", "-m", "siheyuan.definitions", "-p", str(port)]
    os.execvpe("dagster", args, env)


# commands of their own modules (the PostgreSQL target, the benchmark)
main.add_command(publish)
main.add_command(bench)
