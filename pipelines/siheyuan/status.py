"""What the warehouse holds: the current version, the versions kept, every batch file seen.

Read from a private copy of the live database (``report.snapshot_connection``): a status check
must never hold a lock a running run could trip over.
"""

from __future__ import annotations

from typing import Any

from siheyuan.publish import read_current
from siheyuan.report import snapshot_connection
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import table_exists


def warehouse_status(layout: WarehouseLayout) -> dict[str, Any]:
    info: dict[str, Any] = {
        "warehouse": str(layout.root),
        "current_version": read_current(layout),
        "versions": sorted(p.name for p in layout.published.glob("v*") if p.is_dir())
        if layout.published.exists()
        else [],
        "batches": [],
    }
    with snapshot_connection(layout) as conn:
        if conn is None or not table_exists(conn, "meta", "batch"):
            return info
        cur = conn.execute(
            "SELECT apply_seq, file_name, dataset, status, reason, rows_received, rows_accepted, "
            "rows_quarantined, rows_duplicate, recorded_at FROM meta.batch "
            "ORDER BY recorded_at, coalesce(apply_seq, 0)"
        )
        names = [d[0] for d in cur.description]
        info["batches"] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return info
