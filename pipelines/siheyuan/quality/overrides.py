"""Deliberate acceptance of a batch that a threshold blocked, recorded with who, when and why.

A 60 % drop of a snapshot can be real (a department closed a programme). A data engineer who
has checked that accepts the batch for the one check that blocked it; the override is keyed by
the file's SHA-256, so a changed file needs a new decision. The next run re-checks the file (it
is not refused as "unchanged since rejected") and records the check as failed *and* overridden.
Only threshold checks can be overridden: a file that cannot be read is never accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from siheyuan.contracts import load_contracts
from siheyuan.landing import file_sha256
from siheyuan.quality.config import check_definitions
from siheyuan.quality.privacy import mask_text
from siheyuan.rejections import REJECTION_COLUMNS, Rejection, resolution
from siheyuan.runlock import RunLock
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import connect, ensure_meta


@dataclass(frozen=True)
class Override:
    dataset: str
    file_name: str
    file_sha256: str
    check_name: str
    accepted_by: str
    accepted_at: datetime
    reason: str

    def note(self) -> str:
        return f"by {self.accepted_by} at {self.accepted_at:%Y-%m-%d %H:%M} UTC: {self.reason}"


def accept_batch(
    warehouse_layout: WarehouseLayout,
    file_name: str,
    check_name: str,
    accepted_by: str,
    reason: str,
) -> Override:
    """Record that ``file_name`` (as last rejected) may pass ``check_name``; return the override.

    Raises ``ValueError`` (one line for the engineer) when the file was never rejected, its
    rejection is already resolved (that content, a corrected file or a later snapshot was applied
    since: see ``siheyuan.rejections``), the content already has an override for that check, the
    check did not fail for it, the check cannot be overridden, or who/why is missing. A second
    override would only add an audit entry that changes nothing. Takes the warehouse's run lock
    (``WarehouseBusy`` while a run is going on).
    """
    if not accepted_by.strip() or not reason.strip():
        raise ValueError("an override needs who accepts it and why")
    layout = warehouse_layout
    if not layout.database.exists():
        raise ValueError(f"no warehouse at {layout.root}")
    with RunLock(layout.lock_file), connect(layout.database) as conn:
        ensure_meta(conn)
        batch = conn.execute(
            f"SELECT batch_id, reason_code, {REJECTION_COLUMNS} FROM meta.batch "
            "WHERE file_name = ? AND status = 'rejected' ORDER BY recorded_at DESC LIMIT 1",
            [file_name],
        ).fetchone()
        if batch is None:
            raise ValueError(f"{file_name}: no rejected batch of that name")
        batch_id, reason_code, rejected = batch[0], batch[1], Rejection(*batch[2:])
        dataset, sha256 = rejected.dataset, rejected.file_sha256
        later = resolution(conn, rejected)
        if later is not None:
            raise ValueError(
                f"{file_name}: nothing to accept: {later.describe(rejected)} after it was rejected"
            )
        existing = overrides_for(conn, sha256).get(check_name)
        if existing is not None:
            since = (
                "the next run applies it"
                if existing.accepted_at >= rejected.recorded_at
                else f"a later run rejected it for another check ({reason_code})"
            )
            raise ValueError(
                f"{file_name}: content {sha256[:12]}… is already accepted for {check_name} "
                f"by {existing.accepted_by} at {existing.accepted_at:%Y-%m-%d %H:%M} UTC; {since}"
            )
        definitions = {d.name: d for d in check_definitions(load_contracts()[dataset])}
        definition = definitions.get(check_name)
        if definition is None or not definition.overridable:
            allowed = ", ".join(n for n, d in definitions.items() if d.overridable)
            raise ValueError(f"{check_name!r} cannot be overridden (checks that can: {allowed})")
        failed = conn.execute(
            "SELECT count(*) FROM meta.check_result WHERE batch_id = ? AND file_name = ? "
            "AND check_name = ? AND NOT passed",
            [batch_id, file_name, check_name],
        ).fetchone()
        if not failed or not failed[0]:
            raise ValueError(f"{file_name}: check {check_name!r} did not fail for this file")
        override = Override(
            dataset,
            file_name,
            sha256,
            check_name,
            mask_text(accepted_by.strip()) or "",
            datetime.now(UTC).replace(tzinfo=None),
            # free text typed by an engineer: it may quote a number from the file
            mask_text(reason.strip()) or "",
        )
        conn.execute(
            "INSERT INTO meta.override (dataset, file_name, file_sha256, check_name, accepted_by, "
            "accepted_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                override.dataset,
                override.file_name,
                override.file_sha256,
                override.check_name,
                override.accepted_by,
                override.accepted_at,
                override.reason,
            ],
        )
        conn.execute("CHECKPOINT")
    return override


def landed_file_changed(override: Override, landing: Path) -> bool | None:
    """Whether the file now in ``landing`` differs from the content the override applies to.

    None when the file is not there (moved away, or the landing folder is elsewhere). A changed
    file is a new batch: the override does not apply to it and the next run checks it afresh.
    """
    department = load_contracts()[override.dataset].department
    path = landing / department / override.file_name
    if not path.is_file():
        return None
    return file_sha256(path) != override.file_sha256


def overrides_for(conn, file_sha256: str) -> dict[str, Override]:
    """The overrides recorded for this content, by check name (the latest one per check)."""
    rows = conn.execute(
        "SELECT dataset, file_name, file_sha256, check_name, accepted_by, accepted_at, reason "
        "FROM meta.override WHERE file_sha256 = ? ORDER BY accepted_at",
        [file_sha256],
    ).fetchall()
    return {r[3]: Override(*r) for r in rows}
