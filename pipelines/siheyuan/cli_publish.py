"""``siheyuan publish``: load a published version into PostgreSQL for the department systems.

A command of its own module so the PostgreSQL target stays out of the pipeline's CLI imports;
``cli.py`` registers it with ``main.add_command(publish)`` and calls :func:`publish_after_run`
when ``targets.yml`` turns on the publish after every run.

Without ``--postgres`` the URL comes from the environment variable ``targets.yml`` names
(``postgres.url_env``, by default ``SIHEYUAN_POSTGRES_URL``): the reviewed file says where, the
environment holds the secret.
"""

from __future__ import annotations

from pathlib import Path

import click

from siheyuan.db_sources import masked_url
from siheyuan.postgres_target import (
    PostgresPublish,
    PostgresTargetError,
    publish_to_postgres,
    sqlalchemy_url,
)
from siheyuan.quality.privacy import mask_text
from siheyuan.settings import WAREHOUSE_ENV, ConfigurationError, resolve_warehouse
from siheyuan.targets import TARGETS_ENV, Targets, load_targets


def _describe(result: PostgresPublish, shown: str) -> list[str]:
    """What a publish did, in the lines the command prints."""
    if not result.switched:
        return [f"{result.version} is already what the consumers read in {shown}: nothing to do"]
    how = "loaded into" if result.loaded else "already in"
    total = sum(result.row_counts.values())
    lines = [
        f"{result.version} {how} schema {result.schema} of {shown} "
        f"({len(result.row_counts)} tables, {total} rows) and switched in "
        f"{result.seconds:.1f} s"
    ]
    if result.dropped_schemas:
        lines.append("dropped old version schemas: " + ", ".join(result.dropped_schemas))
    return lines


def _one_line(text: str) -> str:
    """A driver's multi-line message as one masked line (a script reads the first line)."""
    return mask_text(" ".join(text.split())) or ""


@click.command("publish")
@click.option(
    "--postgres",
    "url",
    default=None,
    help="PostgreSQL URL (default: the environment variable postgres.url_env of targets.yml, "
    f"SIHEYUAN_POSTGRES_URL unless ${TARGETS_ENV} names another file); the password is never "
    "printed.",
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
    if not url:
        config = load_targets().postgres
        url = config.url()
        if not url:
            raise click.UsageError(
                f"give --postgres URL or set ${config.url_env} (postgres.url_env of the "
                f"publish targets file; ${TARGETS_ENV} may name another)"
            )
    shown = masked_url(sqlalchemy_url(url))
    try:
        result = publish_to_postgres(url, resolve_warehouse(warehouse), version)
    except PostgresTargetError as exc:
        raise click.ClickException(_one_line(str(exc))) from None
    for line in _describe(result, shown):
        click.echo(line)


def check_publish_on_run(targets: Targets) -> None:
    """Before a run: publishing after it is on, so its URL must be set (or fail before the run
    applies anything, exit 2, rather than after it has published to the warehouse)."""
    config = targets.postgres
    if config.publish_on_run and not config.url():
        raise ConfigurationError(
            f"{targets.path}: postgres.publish_on_run is true but ${config.url_env} is not set"
        )


def publish_after_run(targets: Targets, warehouse: Path, version: str) -> str | None:
    """Publish the version a run just made current to PostgreSQL; None when done, else the one
    line to print (masked, naming the target). The warehouse's version stays current either way:
    it is committed, and ``siheyuan publish`` can retry."""
    url = targets.postgres.url()
    if not url:  # check_publish_on_run ran before the run; the variable went away since
        return f"PostgreSQL target: ${targets.postgres.url_env} is not set"
    shown = masked_url(sqlalchemy_url(url))
    try:
        result = publish_to_postgres(url, warehouse, version)
    except PostgresTargetError as exc:  # names the target already when the database failed
        where = "" if shown in str(exc) else f" {shown}"
        return _one_line(f"PostgreSQL target{where}: {exc}")
    except Exception as exc:  # never a traceback that might quote the URL
        message = str(exc).replace(url, shown)
        return _one_line(f"PostgreSQL target {shown}: {type(exc).__name__}: {message}")
    for line in _describe(result, shown):
        click.echo(line)
    return None
