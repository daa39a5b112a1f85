"""The ``siheyuan`` command: run the hub without a webserver.

``run`` applies new batches and publishes; ``demo`` generates a sample and runs it; ``generate``
writes department extracts; ``status`` shows the current version and the batches applied; ``ui``
starts the Dagster UI on the same code.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from siheyuan.settings import (
    LANDING_ENV,
    WAREHOUSE_ENV,
    WarehouseLayout,
    project_root,
    resolve_landing,
    resolve_warehouse,
)

# Wide enough for file names when output is piped or captured (rich assumes 80 columns there).
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
console = Console(width=None if sys.stdout.isatty() else 120)


def _quiet_third_parties() -> None:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def _setup_logging(verbose: bool) -> None:
    handler = RichHandler(console=err, show_path=False, show_time=True, markup=False)
    logger = logging.getLogger("siheyuan")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    for noisy in ("dagster", "dbt", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


@click.group()
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
                    f"{b[k] or 0:,}"
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
def run(landing: Path | None, warehouse: Path | None) -> None:
    """Apply every new batch in the landing folder and publish a new version."""
    sys.exit(_run(resolve_landing(landing), resolve_warehouse(warehouse)))


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
def generate(persons: int, seed: int, out: Path, round_no: int) -> None:
    """Write the five department extracts for a generated population (and the ground truth)."""
    from siheyuan.generate import generate_sample

    with err.status(f"generating {persons:,} persons, round {round_no}…", spinner="dots"):
        summary = generate_sample(persons=persons, seed=seed, out=out, round_no=round_no)
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
    """Show the current published version and the batches applied."""
    from siheyuan.status import warehouse_status

    info = warehouse_status(WarehouseLayout(resolve_warehouse(warehouse)))
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
            b["status"],
            f"{b['rows_accepted'] or 0:,}",
            f"{b['rows_quarantined'] or 0:,}",
            str(b["recorded_at"])[:19],
        )
    console.print(table)
    for b in info["batches"]:
        if b["status"] == "rejected":
            console.print(f"[red]rejected[/red] {b['reason']}")


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
