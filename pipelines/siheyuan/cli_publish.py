"""``siheyuan publish``: load a published version into PostgreSQL for the department systems.

A command of its own module so the PostgreSQL target stays out of the pipeline's CLI imports;
``cli.py`` registers it with ``main.add_command(publish)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from siheyuan.db_sources import masked_url
from siheyuan.postgres_target import (
    URL_ENV,
    PostgresTargetError,
    publish_to_postgres,
    sqlalchemy_url,
)
from siheyuan.settings import WAREHOUSE_ENV, resolve_warehouse


@click.command("publish")
@click.option(
    "--postgres",
    "url",
    default=None,
    help=f"PostgreSQL URL (default ${URL_ENV}); the password is never printed.",
)
@click.option(
    "--warehouse",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Warehouse folder (default ${WAREHOUSE_ENV} or ./warehouse).",
)
@click.option("--version", "version", default="CURRENT", show_default=True)
def publish(url: str | None, warehouse: Path | None, version: str) -> None:
    """Load a published version into PostgreSQL and switch every consumer's views to it."""
    url = url or os.environ.get(URL_ENV, "").strip()
    if not url:
        raise click.UsageError(f"give --postgres URL or set ${URL_ENV}")
    shown = masked_url(sqlalchemy_url(url))
    try:
        result = publish_to_postgres(url, resolve_warehouse(warehouse), version)
    except PostgresTargetError as exc:
        raise click.ClickException(str(exc)) from None
    if not result.switched:
        click.echo(f"{result.version} is already what the consumers read in {shown}: nothing to do")
        return
    how = "loaded into" if result.loaded else "already in"
    total = sum(result.row_counts.values())
    click.echo(
        f"{result.version} {how} schema {result.schema} of {shown} "
        f"({len(result.row_counts)} tables, {total} rows) and switched in "
        f"{result.seconds:.1f} s"
    )
    if result.dropped_schemas:
        click.echo("dropped old version schemas: " + ", ".join(result.dropped_schemas))
