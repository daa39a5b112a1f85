"""The reviewed quality settings of a dataset: ``expectations/<dataset>.yml``.

Every threshold the gate applies lives in that file, next to the Great Expectations suite it
describes, so changing what the hub tolerates is a reviewed change to a data file, not to code.
The file names the checks; :func:`check_definitions` turns them into the fixed list of checks the
Dagster asset declares (Dagster needs the names before any batch arrives).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from siheyuan.contracts import SourceContract
from siheyuan.settings import ConfigurationError, project_root

# Checks every dataset has, whatever its YAML says (the names are stable: reports key on them).
INTAKE = "intake"
STRUCTURE = "structure"
QUARANTINE_SHARE = "quarantine_share"
ROW_COUNT_CHANGE = "row_count_change"
ROW_COUNT_DROP = "row_count_drop"
# The reason code of a snapshot refused after reading because no row of it was usable.
EMPTY_SNAPSHOT = "empty_snapshot"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JsonKeySettings(_Strict):
    """When a JSON Lines batch is refused because a declared key was renamed or dropped.

    A declared key that appears on no line is a renamed or dropped key only when the batch is
    large enough for that to mean something; an undeclared key on most lines is a renamed one.
    """

    min_rows: int = Field(ge=1)
    max_undeclared_share: float = Field(gt=0, le=1)


class StructureSettings(_Strict):
    """The pandera layer: the shape each delivered value must have to be the column it claims."""

    # A row with at least this many values that do not fit their column is shifted or cut.
    garbled_row_min_failures: int = Field(ge=2)
    # Extra shape rules (regular expressions) for coded columns the contract types as text.
    patterns: dict[str, str] = {}
    # JSON Lines only (their keys are named on every line): when a renamed key rejects a batch.
    json_keys: JsonKeySettings | None = None


class BatchSettings(_Strict):
    """Whole-batch thresholds: beyond them the batch is rejected (an override can accept it)."""

    max_quarantine_share: float = Field(ge=0, le=1)
    # Snapshots only: the largest drop of rows against the previous applied snapshot.
    max_row_drop_share: float | None = Field(default=None, ge=0, le=1)
    # Snapshots only: a smaller drop that is reported (never blocks): a file cut cleanly at a
    # line end loses rows without any other sign, and a drop under the blocking share is no proof
    # that it is real.
    warn_row_drop_share: float | None = Field(default=None, ge=0, le=1)
    # Shares are not judged on batches smaller than this (two rows out of three is no trend).
    min_rows_for_shares: int = Field(default=20, ge=1)


class DerivedColumn(_Strict):
    """A column computed for the suite from a delivered one (never carrying its value)."""

    # present: true/false (the value is there); id_number_valid, date_plausible: null when empty
    rule: Literal["id_number_valid", "date_plausible", "present"]
    source: str
    # Only rows whose ``when_column`` value is in ``when_in`` are judged (e.g. id_type 01).
    when_column: str | None = None
    when_in: tuple[str, ...] = ()


class ExpectationSettings(_Strict):
    """One Great Expectations expectation, and what its failure means for the batch."""

    check: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: str = Field(pattern=r"^expect_[a-z_]+$")
    kwargs: dict[str, Any]
    blocking: bool = False
    description: str


class QualitySettings(_Strict):
    dataset: str
    structure: StructureSettings
    batch: BatchSettings
    derived: dict[str, DerivedColumn] = {}
    expectations: tuple[ExpectationSettings, ...] = ()


@dataclass(frozen=True)
class CheckDefinition:
    """A check as the Dagster asset declares it and ``meta.check_result`` names it."""

    name: str
    layer: str  # batch | structural | semantic
    blocking: bool
    overridable: bool
    description: str


def expectations_dir() -> Path:
    return project_root() / "expectations"


@cache
def load_settings(dataset: str, root: Path | None = None) -> QualitySettings:
    """``expectations/<dataset>.yml``, validated; the error names the file."""
    path = (root or expectations_dir()) / f"{dataset}.yml"
    try:
        settings = QualitySettings.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except Exception as exc:  # re-raised naming the file: the engineer must know which one
        raise ConfigurationError(f"invalid quality settings {path}: {exc}") from exc
    if settings.dataset != dataset:
        raise ConfigurationError(f"{path}: dataset is {settings.dataset!r}, expected {dataset!r}")
    names = [e.check for e in settings.expectations]
    reserved = {INTAKE, STRUCTURE, QUARANTINE_SHARE, ROW_COUNT_CHANGE, ROW_COUNT_DROP}
    if len(set(names)) != len(names) or reserved & set(names):
        raise ConfigurationError(
            f"{path}: expectation check names must be unique and not {reserved}"
        )
    return settings


def check_definitions(contract: SourceContract) -> list[CheckDefinition]:
    """Every check a batch of ``contract`` goes through, in the order the gate runs them."""
    settings = load_settings(contract.dataset)
    checks = [
        CheckDefinition(
            INTAKE,
            "batch",
            True,
            False,
            "The file can be taken in whole: decodes in its declared encoding, has the declared "
            "sheet and columns, is not truncated, is not an empty snapshot, is not out of order.",
        ),
        CheckDefinition(
            STRUCTURE,
            "structural",
            False,
            False,
            "pandera: every value has its column's declared type/format; a row with "
            f"{settings.structure.garbled_row_min_failures} or more misfits is shifted or cut "
            "and goes to the quarantine.",
        ),
        CheckDefinition(
            QUARANTINE_SHARE,
            "batch",
            True,
            True,
            "Share of received rows quarantined is at most "
            f"{settings.batch.max_quarantine_share:.0%}.",
        ),
    ]
    if contract.kind == "snapshot" and settings.batch.max_row_drop_share is not None:
        checks.append(
            CheckDefinition(
                ROW_COUNT_CHANGE,
                "semantic",
                True,
                True,
                "Great Expectations: the snapshot has at least "
                f"{1 - settings.batch.max_row_drop_share:.0%} of the rows of the previous one.",
            )
        )
    if contract.kind == "snapshot" and settings.batch.warn_row_drop_share is not None:
        checks.append(
            CheckDefinition(
                ROW_COUNT_DROP,
                "semantic",
                False,
                False,
                "Great Expectations (reported, never blocks): the snapshot has at least "
                f"{1 - settings.batch.warn_row_drop_share:.0%} of the rows of the previous one.",
            )
        )
    checks += [
        CheckDefinition(e.check, "semantic", e.blocking, e.blocking, e.description)
        for e in settings.expectations
    ]
    return checks
