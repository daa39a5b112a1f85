"""``siheyuan bench``: the per-stage benchmark of the full job and a round of changes.

Its own module so the benchmark's options and table stay out of the everyday commands; cli.py
registers it with ``main.add_command(bench)``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from siheyuan.settings import project_root

console = Console(width=120)


def _table(result: dict[str, Any]) -> Table:
    from siheyuan.bench import STAGES

    table = Table(
        title=f"siheyuan bench: {result['persons']:,} persons, seed {result['seed']}",
        title_justify="left",
    )
    table.add_column("run")
    table.add_column("stage")
    table.add_column("wall s", justify="right")
    table.add_column("rows/s", justify="right")
    table.add_column("peak RSS MB", justify="right")
    for run in result["runs"]:
        for stage in STAGES:
            s = run["stages"][stage]
            table.add_row(
                run["label"],
                stage,
                f"{s['wall_seconds']:.2f}",
                f"{s['rows_per_second']:,.0f}",
                f"{s['peak_rss_mb']:,.0f}",
            )
        table.add_row(
            run["label"],
            f"total ({run['source_rows']:,} rows)",
            f"{run['wall_seconds']:.2f}",
            f"{run['source_rows'] / run['wall_seconds']:,.0f}" if run["wall_seconds"] else "-",
            f"{run['peak_rss_mb']:,.0f}",
            end_section=True,
        )
    bare = result["bare_splink"]
    table.add_row(
        "bare Splink",
        f"predict + cluster ({bare['rows']:,} records)",
        f"{bare['wall_seconds']:.2f}",
        f"{bare['rows'] / bare['wall_seconds']:,.0f}" if bare["wall_seconds"] else "-",
        f"{bare['peak_rss_mb']:,.0f}",
    )
    return table


@click.command()
@click.option("--persons", type=click.IntRange(min=1), required=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Scratch folder for generated data and the warehouse (emptied first; default: a "
    "new temporary folder).",
)
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the JSON goes (default: bench/results/ in the repository).",
)
@click.option(
    "--change-share",
    type=click.FloatRange(min=0, min_open=True, max=1, max_open=True),
    default=0.01,
    show_default=True,
    help="Round 2's size: new or changed rows in its files as a share of round 1's rows "
    "(the generator's monthly rates are scaled to it, calibrated on a 20,000-person probe).",
)
@click.option(
    "--change-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Scale the monthly rates by this instead of calibrating (1 = the generator's usual "
    "month).",
)
def bench(
    persons: int,
    seed: int,
    folder: Path | None,
    results_dir: Path | None,
    change_share: float,
    change_scale: float | None,
) -> None:
    """Time the full job per stage on generated data, then a generated round of changes."""
    from siheyuan.bench import LINK_FEATURES_MODEL, run_bench

    folder = folder or Path(tempfile.mkdtemp(prefix=f"siheyuan-bench-{persons}-"))
    results_dir = results_dir or project_root() / "bench" / "results"
    result = run_bench(
        persons,
        seed,
        folder.resolve(),
        results_dir,
        change_share=change_share,
        change_scale=change_scale,
    )
    console.print(_table(result))
    console.print(
        f"round 2 (monthly rates × {result['round_2_change_scale']:.3g}): "
        f"{result['round_2_file_rows_new_or_changed']:,} new or changed rows in its files "
        f"({result['round_2_file_changed_share']:.2%} of {result['round_1_source_rows']:,} "
        f"round-1 rows), {result['round_2_changed_rows']:,} changed records in the truth "
        f"({result['round_2_changed_share']:.2%}); round 2 took "
        f"{result['round_2_to_round_1_time']:.1%} of round 1's time; "
        f"resolve / bare Splink = {result['resolve_to_bare_ratio']} "
        f"({result['resolve_with_link_features_to_bare_ratio']} with building the link "
        "features, the rows bare Splink starts from)"
    )
    for run in result["runs"]:
        work = run.get("resolve") or {}
        if work.get("scoring_mode"):
            models = ", ".join(f"{k} {v:.2f} s" for k, v in work["models"].items())
            models += f"; {LINK_FEATURES_MODEL} {work['link_features_seconds']:.2f} s"
            console.print(
                f"{run['label']}: scoring {work['scoring_mode']}, {work['changed_records']:,} "
                f"of {work['records']:,} records scored, {work['scored_pairs']:,} pairs; {models}"
            )
    console.print(f"JSON: {result['path']}")
