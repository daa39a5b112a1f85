"""Republish the data already applied: after a reviewed configuration change.

Survivorship rules, finding rules, tags, linking thresholds and the trained model are
configuration; changing one changes what the hub would publish, but ``siheyuan run`` publishes
only when something new arrived. ``siheyuan run --rebuild --by NAME --why TEXT`` records a
request in ``meta.rebuild_request`` (who, when, why: an auditor sees why a version appeared
without new batches); a request made since the last publish makes the next run build and publish
from the batches already applied, once — like a steward's decision (``review.pending_decisions``).
A run that fails keeps the request pending. Ids stay stable through a rebuild (decision 0009):
the same data gives the same ids, no id event and an empty change feed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from siheyuan.quality.privacy import mask_text
from siheyuan.runlock import RunLock
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import connect, ensure_meta, recorded_since_last_publish


def request_rebuild(layout: WarehouseLayout, requested_by: str, reason: str) -> None:
    """Record a rebuild request in the live warehouse (under the run lock)."""
    if not requested_by.strip() or not reason.strip():
        raise ValueError("a rebuild needs who asks for it (--by) and why (--why)")
    if not layout.database.exists():
        raise ValueError(f"no warehouse at {layout.root}: nothing has been applied to rebuild")
    with RunLock(layout.lock_file), connect(layout.database) as conn:
        ensure_meta(conn)
        published = conn.execute("SELECT count(*) FROM meta.publish").fetchall()
        if not published[0][0]:
            raise ValueError(f"nothing published in {layout.root} yet: run siheyuan run first")
        # naive UTC, as meta.publish.published_at: DuckDB's now() is in the session's time zone
        conn.execute(
            "INSERT INTO meta.rebuild_request VALUES (?, ?, ?)",
            [
                datetime.now(UTC).replace(tzinfo=None),
                mask_text(requested_by.strip()),  # free text: an ID number typed in is masked
                mask_text(reason.strip()),
            ],
        )
        conn.execute("CHECKPOINT")


def pending_rebuilds(conn: duckdb.DuckDBPyConnection) -> int:
    """Rebuild requests recorded after the last publish."""
    return recorded_since_last_publish(conn, "rebuild_request", "requested_at")
