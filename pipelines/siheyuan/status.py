"""What the warehouse holds: the current version, the versions kept, every batch file seen.

Read from a private copy of the live database (``report.snapshot_connection``): a status check
must never hold a lock a running run could trip over. A rejection stays in the registry for the
audit trail; each one carries what resolved it since (``siheyuan.rejections``), so a file fixed
weeks ago does not read as an open problem.
"""

from __future__ import annotations

from typing import Any

from siheyuan.publish import read_current
from siheyuan.rejections import REJECTION_COLUMNS, Rejection, resolution
from siheyuan.report import snapshot_connection
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import table_exists

_SHOWN = (
    "apply_seq",
    "file_name",
    "dataset",
    "status",
    "reason",
    "rows_received",
    "rows_accepted",
    "rows_quarantined",
    "rows_duplicate",
    "recorded_at",
)


def warehouse_status(layout: WarehouseLayout) -> dict[str, Any]:
    """The status document; each batch's ``resolution`` is null unless it is a rejection that a
    later applied batch resolved (then: how, the file applied, its run and when)."""
    info: dict[str, Any] = {
        "warehouse": str(layout.root),
        "current_version": read_current(layout),
        "versions": sorted(p.name for p in layout.published.glob("v*") if p.is_dir())
        if layout.published.exists()
        else [],
        "batches": [],
        "open_rejections": 0,
        "resolved_rejections": 0,
    }
    with snapshot_connection(layout) as conn:
        if conn is None or not table_exists(conn, "meta", "batch"):
            return info
        rows = conn.execute(
            f"SELECT {', '.join(_SHOWN)}, {REJECTION_COLUMNS} FROM meta.batch "
            "ORDER BY recorded_at, coalesce(apply_seq, 0)"
        ).fetchall()
        for row in rows:
            batch = dict(zip(_SHOWN, row[: len(_SHOWN)], strict=True))
            batch["resolution"] = None
            if batch["status"] == "rejected":
                rejected = Rejection(*row[len(_SHOWN) :])
                later = resolution(conn, rejected)
                if later is not None:
                    batch["resolution"] = {
                        "how": later.how,
                        "file_name": later.file_name,
                        "run_id": later.run_id,
                        "recorded_at": later.recorded_at,
                        "text": later.describe(rejected),
                    }
                key = "open_rejections" if later is None else "resolved_rejections"
                info[key] += 1
            info["batches"].append(batch)
    return info
