"""One check's result for one batch, and where results are kept (``meta.check_result``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from siheyuan.quality.privacy import mask_text
from siheyuan.readers import BatchRejected


@dataclass(frozen=True)
class CheckResult:
    """``observed``/``threshold``/``detail`` are short texts for people, masked when written."""

    check_name: str
    layer: str  # batch | structural | semantic
    blocking: bool
    passed: bool
    observed: str | None = None
    threshold: str | None = None
    detail: str | None = None
    overridden: bool = False
    # False for a share rule on a batch too small to judge a share (recorded, never acted on)
    judged: bool = True

    @property
    def blocks(self) -> bool:
        """True when this result stops the batch (a failed blocking check, not overridden)."""
        return self.blocking and not self.passed and not self.overridden

    def overridden_by(self, note: str) -> CheckResult:
        return replace(self, overridden=True, detail=f"{self.detail or ''} — accepted: {note}")


class GateRejected(BatchRejected):
    """A batch a check refused; carries every check result of the batch for the record."""

    def __init__(
        self, reason_code: str, reason: str, checks: list[CheckResult], rows_read: int
    ) -> None:
        super().__init__(reason_code, reason, rows_read)
        self.checks = checks


def record_checks(
    conn, run_id: str, batch_id: str, dataset: str, file_name: str, checks: list[CheckResult]
) -> None:
    """Append ``checks`` to ``meta.check_result`` (masked: never a full ID number or phone)."""
    if not checks:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    conn.executemany(
        "INSERT INTO meta.check_result (run_id, batch_id, dataset, file_name, check_name, layer, "
        "blocking, passed, overridden, observed, threshold, detail, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                run_id,
                batch_id,
                dataset,
                file_name,
                c.check_name,
                c.layer,
                c.blocking,
                c.passed,
                c.overridden,
                mask_text(c.observed),
                mask_text(c.threshold),
                mask_text(c.detail),
                now,
            ]
            for c in checks
        ],
    )
