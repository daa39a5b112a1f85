"""The data-quality gate for one batch: structure, rows, semantics, thresholds, overrides.

Called by the ingest between reading a file and appending its rows. It decides nothing about the
registry (replays, order); it answers "which rows go to the quarantine, and may this batch be
applied at all?", and returns every check's result for ``meta.check_result``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from siheyuan.contracts import SourceContract
from siheyuan.quality import semantic
from siheyuan.quality.config import INTAKE, QUARANTINE_SHARE, load_settings
from siheyuan.quality.overrides import Override
from siheyuan.quality.privacy import mask_text
from siheyuan.quality.results import CheckResult, GateRejected
from siheyuan.quality.structure import check_structure
from siheyuan.readers import RawRow, ReadResult, RowProblem


def intake_passed() -> CheckResult:
    return CheckResult(INTAKE, "batch", True, True, observed="readable as declared")


def intake_failed(reason_code: str, reason: str) -> CheckResult:
    return CheckResult(INTAKE, "batch", True, False, observed=reason_code, detail=reason)


@dataclass
class StructuralPass:
    rows: list[RawRow]  # rows whose structure is sound (bad values included)
    garbled: list[RowProblem]
    check: CheckResult


def structural(contract: SourceContract, read: ReadResult) -> StructuralPass:
    settings = load_settings(contract.dataset)
    outcome = check_structure(contract, settings.structure, read.rows)
    return StructuralPass(outcome.kept, outcome.garbled, outcome.check)


def _quarantine_share(contract: SourceContract, received: int, quarantined: int) -> CheckResult:
    batch = load_settings(contract.dataset).batch
    share = quarantined / received if received else 0.0
    blocking = received >= batch.min_rows_for_shares
    return CheckResult(
        QUARANTINE_SHARE,
        "batch",
        blocking,
        share <= batch.max_quarantine_share,
        observed=f"{quarantined} of {received} rows quarantined ({share:.1%})",
        threshold=f"at most {batch.max_quarantine_share:.0%}",
        detail=None if blocking else f"{received} rows: too few to judge a share",
    )


def judge(
    contract: SourceContract,
    file_name: str,
    extract_date: date,
    rows: list[RawRow],
    received: int,
    quarantined: int,
    previous_rows: int | None,
    reports_root: Path | None,
    overrides: dict[str, Override],
    earlier: list[CheckResult],
    keys: list[str | None] | None = None,
) -> list[CheckResult]:
    """The batch-level verdict; raises :class:`GateRejected` naming the first blocking failure.

    ``keys``: the rows' source keys, when the caller worked them out already.
    """
    settings = load_settings(contract.dataset)
    frame = semantic.batch_frame(contract, settings, rows, extract_date, keys)
    checks = [
        *earlier,
        _quarantine_share(contract, received, quarantined),
        *semantic.validate(contract, settings, frame, previous_rows, reports_root),
    ]
    checks = [
        c.overridden_by(overrides[c.check_name].note())
        if c.blocks and c.check_name in overrides
        else c
        for c in checks
    ]
    blocking = [c for c in checks if c.blocks]
    if blocking:
        first = blocking[0]
        more = f" (+{len(blocking) - 1} more failed check(s))" if len(blocking) > 1 else ""
        reason = mask_text(
            f"{file_name}: check {first.check_name} failed: {first.observed} (threshold: "
            f"{first.threshold}){more} — fix the file, or accept it with an override if it is real"
        )
        raise GateRejected(first.check_name, reason or "", checks, received)
    return checks
