"""The page's summary: every file a run saw is counted (held ones too), reasons read once."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from siheyuan.contracts import load_contracts
from siheyuan.report import AuditReport, ledger_json, write_report
from siheyuan.report_html import MAX_NAMED_HELD, _reason, render
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import initialise

REJECTED = "civil_assistance_20261101.xlsx"
REJECTED_REASON = (
    f"{REJECTED}: check quarantine_share failed: 5 of 28 rows quarantined (17.9%) (threshold: "
    "10%) — fix the file, or accept it with an override if it is real"
)


def _batch(file_name: str, status: str, reason: str | None = None, received: int = 0) -> dict:
    return {
        "file_name": file_name,
        "dataset": file_name.rsplit("_", 1)[0],
        "status": status,
        "reason": reason,
        "rows_received": received,
        "rows_accepted": received,
        "rows_quarantined": 0,
        "rows_duplicate": 0,
    }


def _held(file_name: str) -> dict:
    return {
        "file_name": file_name,
        "dataset": file_name.rsplit("_", 1)[0],
        "reason": f"not applied: the run was rejected because of {REJECTED}",
    }


def _report(batches: list[dict], held: list[dict]) -> AuditReport:
    ledger = [
        {**b, "file": b["file_name"], "first_seen": datetime(2026, 11, 23), "run_id": "r9"}
        for b in batches
    ]
    return AuditReport(
        warehouse=Path("/wh"),
        generated_at=datetime(2026, 11, 23, 9, 0),
        current_version="v000003",
        run_id="r9",
        run_batches=batches,
        held=held,
        ledger=ledger,
    )


def _summary(page: str) -> str:
    match = re.search(r'<ul class="summary">(.*?)</ul>', page, re.S)
    assert match is not None
    return match.group(1)


def test_the_summary_counts_and_names_the_files_a_rejected_run_held_back() -> None:
    batches = [
        _batch("police_hukou_20261101.csv", "applied", received=10),
        _batch("police_floating_20261101.csv", "duplicate", "same content as …"),
        _batch(REJECTED, "rejected", REJECTED_REASON),
    ]
    held = [_held(f"hr_insured_2026110{i}.csv") for i in (1, 2, 3)]
    summary = _summary(render(_report(batches, held), Path("/wh/reports")))
    assert "Files received in this run: <b>6</b>" in summary
    assert "1 applied, 1 duplicate" in summary and "1 rejected, 3 held back" in summary
    assert all(h["file_name"] in summary for h in held)
    assert "and 0 more" not in summary


def test_a_run_without_held_files_counts_its_batches_only() -> None:
    batches = [_batch("police_hukou_20261101.csv", "applied", received=10)]
    summary = _summary(render(_report(batches, []), Path("/wh/reports")))
    assert "Files received in this run: <b>1</b>" in summary
    assert "held back" not in summary.lower()


def test_a_long_held_list_is_cut_in_the_summary_and_whole_in_its_section() -> None:
    held = [_held(f"hr_insured_202611{i:02d}.csv") for i in range(1, MAX_NAMED_HELD + 4)]
    page = render(_report([_batch(REJECTED, "rejected", REJECTED_REASON)], held), Path("/r"))
    summary = _summary(page)
    assert f"Files received in this run: <b>{len(held) + 1}</b>" in summary
    assert "and 3 more" in summary and held[-1]["file_name"] not in summary
    assert all(h["file_name"] in page for h in held)  # the held section names every one


def test_a_rejection_reason_reads_the_file_name_once_and_is_stored_unchanged() -> None:
    batches = [_batch(REJECTED, "rejected", REJECTED_REASON)]
    page = render(_report(batches, []), Path("/wh/reports"))
    assert f"{REJECTED}: {REJECTED}" not in page
    assert f"Rejected</span> {REJECTED}: check quarantine_share failed" in _summary(page)
    # every table row with the reason shows it without the prefix
    assert page.count("<td>check quarantine_share failed") == 3  # run, rejected, every batch
    assert batches[0]["reason"] == REJECTED_REASON  # what report --json prints is untouched


@pytest.mark.parametrize(
    ("file_name", "reason", "shown"),
    [
        ("a.csv", "a.csv: the file is empty", "the file is empty"),
        ("a.csv", "a.csv:the file is empty", "a.csv:the file is empty"),  # not the prefix form
        ("a.csv", "older than b.csv: a.csv: …", "older than b.csv: a.csv: …"),
        ("b_a.csv", "a.csv: x", "a.csv: x"),  # another file's name is not this one's prefix
        ("a.csv", None, None),
        (None, "a.csv: x", "a.csv: x"),
    ],
)
def test_only_a_leading_own_file_name_is_dropped(
    file_name: str | None, reason: str | None, shown: str | None
) -> None:
    assert _reason(file_name, reason) == shown


def test_an_override_reason_with_a_grouped_id_and_a_condition_is_masked_everywhere(
    tmp_path: Path,
) -> None:
    # As stored by a warehouse written before mask_text knew these forms (UAT finding 10).
    layout = WarehouseLayout(tmp_path / "wh")
    initialise(layout.database, load_contracts())
    typed = "resident 330106 1985 0302 1234 (高血压) moved out: the drop is real"
    with duckdb.connect(str(layout.database)) as conn:
        conn.execute(
            "INSERT INTO meta.batch VALUES ('b1', 'police_hukou', 'police', ?, ?, "
            "DATE '2026-10-01', 0, 'snapshot', NULL, 'rejected', 'row_count_drop', ?, "
            "10, 0, 0, 0, 'r1', TIMESTAMP '2026-11-01 08:00')",
            [REJECTED, "f" * 64, f"{REJECTED}: check row_count_drop failed"],
        )
        conn.execute(
            "INSERT INTO meta.override VALUES ('police_hukou', ?, ?, 'row_count_drop', '王芳', "
            "TIMESTAMP '2026-11-01 09:00', ?)",
            [REJECTED, "f" * 64, typed],
        )
    page = write_report(layout).read_text(encoding="utf-8")
    (entry,) = ledger_json(layout)["batches"]
    assert entry["reason"] == f"{REJECTED}: check row_count_drop failed"  # JSON: as stored
    for text in (page, entry["overrides"][0]["reason"]):
        assert "1985 0302" not in text and "高血压" not in text
        assert "330106********1234 ([健康信息]) moved out" in text


def test_rows_a_rejected_file_would_quarantine_are_shown_apart_from_applied_ones() -> None:
    rejected = {
        **_batch(REJECTED, "rejected", REJECTED_REASON, received=28),
        "rows_accepted": 0,
        "rows_quarantined_if_accepted": 5,
    }
    report = _report([rejected], [])
    report.rejected_rows = [
        {
            "file": REJECTED,
            "row_number": n,
            "source_key": None,
            "reason_code": "missing_required",
            "reason": "姓名 is empty",
        }
        for n in (3, 7, 9, 11, 20)
    ]
    report.rejected_rows_by_reason = [("civil_assistance", "missing_required", 5)]
    page = render(report, Path("/wh/reports"))
    assert "would have quarantined 5 row(s)" in page
    assert "Rows the rejected file(s) would have quarantined (not applied)" in page
    assert "0 (5 if accepted)" in page
    assert "Every quarantined row of this run" not in page  # nothing was applied


def test_accepted_rows_missing_from_the_published_xref_are_not_balanced() -> None:
    """A dataset with a contract but no dbt models: applied, yet never published."""
    orphan = {**_batch("elderly_subsidy_20261101.csv", "applied", received=2), "rows_in_xref": 0}
    page = render(_report([orphan], []), Path("/wh/reports"))
    assert "NO — 2 accepted row(s) not in the published xref" in page
    fine = {**_batch("police_hukou_20261101.csv", "applied", received=2), "rows_in_xref": 2}
    assert "not in the published xref" not in render(_report([fine], []), Path("/wh/reports"))


def test_a_run_without_rejected_rows_shows_no_would_be_section() -> None:
    page = render(
        _report([_batch("police_hukou_20261101.csv", "applied", received=3)], []),
        Path("/wh/reports"),
    )
    assert "would have quarantined" not in page and "if accepted" not in page
