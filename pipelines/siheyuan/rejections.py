"""What became of a rejected batch: a rejection stays in the registry after it has been dealt with.

The registry keeps every outcome (an auditor must see that a file was refused, and why), so a
rejection is never deleted. It is *resolved* when a later run applied what it stood for:

* ``applied`` — the same content (SHA-256, under any name), after an override;
* ``corrected`` — another content under the same file name (the department fixed the file);
* ``superseded`` — for a snapshot, a later-dated snapshot of the dataset: the department's
  list moved on, and the refused one can no longer be applied (it is older than what is).

``status`` shows which rejections are still open, and ``accept`` refuses an override for a
rejection already resolved (an override there would record an audit entry that changes nothing).
Only ``applied`` rows count: the registry of the live database holds those only once published.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime

import duckdb


@dataclass(frozen=True)
class Rejection:
    """The registry row of a rejection: enough to find what came after it."""

    dataset: str
    file_name: str
    file_sha256: str
    kind: str  # snapshot | delta
    extract_date: date
    seq: int
    recorded_at: datetime


# Rejection's fields as meta.batch columns, in order: ``Rejection(*row)`` of a SELECT of them.
REJECTION_COLUMNS = ", ".join(f.name for f in fields(Rejection))


@dataclass(frozen=True)
class Resolution:
    how: str  # applied | corrected | superseded
    file_name: str
    file_sha256: str
    run_id: str
    recorded_at: datetime

    def describe(self, rejected: Rejection) -> str:
        """One phrase: what was applied later, and when."""
        when = f"{self.recorded_at:%Y-%m-%d %H:%M} UTC (run {self.run_id[:8]})"
        if self.how == "applied":
            under = "" if self.file_name == rejected.file_name else f" as {self.file_name}"
            return f"the same content ({self.file_sha256[:12]}…) was applied{under} at {when}"
        if self.how == "corrected":
            return f"a corrected {self.file_name} ({self.file_sha256[:12]}…) was applied at {when}"
        return f"a later snapshot, {self.file_name}, was applied at {when}"


_LATER = """
SELECT how, file_name, file_sha256, run_id, recorded_at FROM (
    SELECT CASE WHEN file_sha256 = $sha THEN 'applied'
                WHEN file_name = $name THEN 'corrected'
                ELSE 'superseded' END AS how,
           file_name, file_sha256, run_id, recorded_at
    FROM meta.batch
    WHERE dataset = $dataset AND status = 'applied' AND recorded_at > $at
      AND (file_sha256 = $sha OR file_name = $name
           OR ($kind = 'snapshot'
               AND (extract_date > $date OR (extract_date = $date AND seq > $seq))))
)
ORDER BY CASE how WHEN 'applied' THEN 0 WHEN 'corrected' THEN 1 ELSE 2 END, recorded_at
LIMIT 1
"""


def resolution(conn: duckdb.DuckDBPyConnection, rejected: Rejection) -> Resolution | None:
    """The later applied batch that resolves ``rejected`` (see the module docstring), or None."""
    row = conn.execute(
        _LATER,
        {
            "sha": rejected.file_sha256,
            "name": rejected.file_name,
            "dataset": rejected.dataset,
            "at": rejected.recorded_at,
            "kind": rejected.kind,
            "date": rejected.extract_date,
            "seq": rejected.seq,
        },
    ).fetchone()
    return Resolution(*row) if row else None


# A refusal that no later run can change: the file is older than what its dataset has applied,
# or a delta for a date and seq already applied. Datasets only move forward, so the same bytes
# are refused for ever; they are set aside instead of failing every later run of the warehouse.
NEVER_APPLICABLE = ("out_of_order",)


def never_applicable(
    conn: duckdb.DuckDBPyConnection, dataset: str | None = None
) -> dict[tuple[str, str], str]:
    """(file name, SHA-256) of contents refused for good, with the reason they were refused."""
    rows = conn.execute(
        "SELECT file_name, file_sha256, arg_max(reason, recorded_at) FROM meta.batch "
        "WHERE status = 'rejected' AND reason_code IN (SELECT unnest($codes)) "
        "AND ($dataset IS NULL OR dataset = $dataset) GROUP BY ALL",
        {"codes": list(NEVER_APPLICABLE), "dataset": dataset},
    ).fetchall()
    return {(name, sha): reason for name, sha, reason in rows}


def set_aside_reason(reason: str) -> str:
    return (
        f"refused earlier and can never apply ({reason}); it is left out of every run — "
        "remove it from the landing folder"
    )
