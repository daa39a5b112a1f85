"""Where things are: the project tree, the warehouse and the landing folder.

Paths come from flags first, then ``SIHEYUAN_WAREHOUSE`` / ``SIHEYUAN_LANDING``, then the defaults
(``./warehouse`` and ``./landing`` beside the current directory), so the CLI, the Dagster UI and the
tests all agree on one place without hard-coding it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WAREHOUSE_ENV = "SIHEYUAN_WAREHOUSE"
LANDING_ENV = "SIHEYUAN_LANDING"
KEEP_VERSIONS_ENV = "SIHEYUAN_KEEP_VERSIONS"
DEFAULT_KEEP_VERSIONS = 10
KEEP_VALIDATIONS_ENV = "SIHEYUAN_KEEP_VALIDATIONS"
DEFAULT_KEEP_VALIDATIONS = 30


class ConfigurationError(ValueError):
    """A source contract or quality settings file that cannot be used; the message names it.

    The CLI prints it as one line (exit 2) instead of a traceback: it is the engineer's file to
    fix, not a fault of the program.
    """


def project_root() -> Path:
    """The repository root (holds ``sources/``, ``models/`` and ``dbt_project.yml``)."""
    return Path(__file__).resolve().parents[2]


def resolve_warehouse(value: str | os.PathLike[str] | None = None) -> Path:
    return Path(value or os.environ.get(WAREHOUSE_ENV) or "warehouse").resolve()


def resolve_landing(value: str | os.PathLike[str] | None = None) -> Path:
    return Path(value or os.environ.get(LANDING_ENV) or "landing").resolve()


def keep_versions() -> int:
    return int(os.environ.get(KEEP_VERSIONS_ENV, DEFAULT_KEEP_VERSIONS))


def keep_validations() -> int:
    """GX validation results kept per dataset (the Data Docs view; verdicts stay in meta)."""
    return int(os.environ.get(KEEP_VALIDATIONS_ENV, DEFAULT_KEEP_VALIDATIONS))


@dataclass(frozen=True)
class WarehouseLayout:
    """The folders and files of one warehouse (data only; all git-ignored)."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "siheyuan.duckdb"

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def current_pointer(self) -> Path:
        return self.published / "CURRENT"

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder for runs on this warehouse: one fixed folder, so it stays one
        run's size (dagster-dbt's default is a new folder in the project per invocation, which
        grows without end) and dbt can parse partially from the previous run's state."""
        return self.root / "dbt-target"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def lock_file(self) -> Path:
        return self.root / ".run.lock"

    @property
    def working_database(self) -> Path:
        """The run's copy of the database (one run at a time holds the lock; a fixed path keeps
        dbt's profile unchanged between runs, so dbt can parse partially)."""
        return self.work_dir / "working.duckdb"

    @property
    def working_marker(self) -> Path:
        """Names the run that made the working copy (a copy is never reused by another run)."""
        return self.work_dir / "working.run"
