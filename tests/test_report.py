"""The auditor's report: one ledger entry per file and content, masked text, a safe offline page."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from siheyuan.contracts import load_contracts
from siheyuan.publish import set_current
from siheyuan.report import WarehouseLocked, ledger_json, load_report, quarantine_json, write_report
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import initialise

T0 = datetime(2026, 11, 1, 8, 0)
ID = "330106198503021234"
SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64
EVIL = "police_hukou_20261002_<script>alert(1)</script>.csv"


def _batch(
    conn, file, sha, status, run, minutes, reason=None, received=0, acc=0, q=0, dup=0, code=None
):
    seq = conn.execute("SELECT coalesce(max(apply_seq), 0) + 1 FROM meta.batch").fetchone()[0]
    conn.execute(
        "INSERT INTO meta.batch VALUES (?, 'police_hukou', 'police', ?, ?, DATE '2026-10-01', 0, "
        "'snapshot', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            f"police_hukou_{sha[:8]}",
            file,
            sha,
            seq if status == "applied" else None,
            status,
            code or (None if reason is None else "row_count_change"),
            reason,
            received,
            acc,
            q,
            dup,
            run,
            T0 + timedelta(minutes=minutes),
        ],
    )


@pytest.fixture()
def layout(tmp_path: Path) -> WarehouseLayout:
    """Run r1 applied A; r2 rejected B (volume drop) and saw a replay; r3 applied B by override."""
    layout = WarehouseLayout(tmp_path / "wh")
    initialise(layout.database, load_contracts())
    with duckdb.connect(str(layout.database)) as conn:
        _batch(conn, "police_hukou_20261001.csv", SHA_A, "applied", "r1", 0, None, 10, 7, 2, 1)
        conn.execute(
            "INSERT INTO meta.quarantine (batch_id, dataset, file_name, row_number, source_key, "
            "reason_code, reason, run_id, recorded_at) VALUES "
            "('police_hukou_aaaaaaaa', 'police_hukou', "
            "'police_hukou_20261001.csv', 4, NULL, 'missing_source_key', 'no source key', 'r1', ?),"
            "('police_hukou_aaaaaaaa', 'police_hukou', 'police_hukou_20261001.csv', 9, 'P9', "
            "'missing_required', ?, 'r1', ?)",
            [T0, f"required value(s) empty next to {ID}", T0],
        )
        _batch(conn, EVIL, SHA_B, "rejected", "r2", 10, f"row count fell 60 % ({ID})")
        _batch(conn, "police_hukou_20261001_copy.csv", SHA_A, "duplicate", "r2", 11, "same")
        conn.execute(
            "INSERT INTO meta.check_result VALUES ('r2', 'police_hukou_bbbbbbbb', 'police_hukou', "
            "?, 'volume_change', 'batch', true, false, false, '-60 %', '-50 %', 'fell', ?)",
            [EVIL, T0 + timedelta(minutes=10)],
        )
        conn.execute(
            "INSERT INTO meta.override VALUES ('police_hukou', ?, ?, 'volume_change', '王芳', ?, "
            "'programme closed <b>really</b>')",
            [EVIL, SHA_B, T0 + timedelta(minutes=20)],
        )
        _batch(conn, EVIL, SHA_B, "applied", "r3", 30, None, 4, 4, 0, 0)
        conn.execute(
            "INSERT INTO meta.publish VALUES ('v000001', 1, 'r1', ?, ['x'], ?), "
            "('v000002', 2, 'r3', ?, ['x', 'y'], ?)",
            [
                T0,
                json.dumps({"resident": 7}),
                T0 + timedelta(minutes=30),
                json.dumps({"resident": 11}),
            ],
        )
    layout.published.mkdir(parents=True)
    set_current(layout, "v000002")
    return layout


def test_one_ledger_entry_per_file_and_content_with_earlier_outcomes_kept(layout) -> None:
    batches = ledger_json(layout)["batches"]
    assert [(b["file"], b["status"]) for b in batches] == [
        ("police_hukou_20261001.csv", "applied"),
        (EVIL, "applied"),  # rejected in r2, applied in r3 after the override: one entry
        ("police_hukou_20261001_copy.csv", "duplicate"),
    ]
    first, evil, _ = batches
    assert {k: first[k] for k in ("rows_received", "rows_accepted", "rows_quarantined")} == {
        "rows_received": 10,
        "rows_accepted": 7,
        "rows_quarantined": 2,
    }
    assert [h["status"] for h in evil["history"]] == ["rejected"]
    assert (
        ID not in evil["history"][0]["reason"]
        and "330106********1234" in evil["history"][0]["reason"]
    )
    assert [o["accepted_by"] for o in evil["overrides"]] == ["王芳"]


def test_json_of_one_run_lists_the_files_it_touched(layout) -> None:
    files = [b["file"] for b in ledger_json(layout, "r2")["batches"]]
    assert files == [EVIL, "police_hukou_20261001_copy.csv"]


def test_quarantine_rows_carry_lineage_and_masked_reasons(layout) -> None:
    rows = quarantine_json(layout)
    assert [(r["file"], r["row_number"], r["source_key"], r["reason_code"]) for r in rows] == [
        ("police_hukou_20261001.csv", 4, None, "missing_source_key"),
        ("police_hukou_20261001.csv", 9, "P9", "missing_required"),
    ]
    assert all(ID not in r["reason"] for r in rows)
    assert {r["batch_status"] for r in rows} == {"applied"}
    assert quarantine_json(layout, dataset="hr_insured") == []
    assert len(quarantine_json(layout, file_name="police_hukou_20261001.csv")) == 2


def test_the_page_is_escaped_masked_offline_and_in_the_warehouse(layout) -> None:
    docs = layout.root / "reports" / "gx" / "uncommitted" / "data_docs" / "local_site"
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("<html></html>")
    path = write_report(layout, run_id="r2")
    assert path == layout.root / "reports" / "report-r2.html"
    page = path.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert ID not in page and "330106********1234" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched when opened
    assert 'href="gx/uncommitted/data_docs/local_site/index.html"' in page
    assert "volume_change" in page and "&lt;b&gt;really&lt;/b&gt;" in page  # check, override


def test_the_default_run_is_the_latest_and_an_unknown_run_is_an_error(layout) -> None:
    report = load_report(layout)
    assert report.run_id == "r3"
    assert report.run_publish is not None and report.run_publish["version"] == "v000002"
    with pytest.raises(LookupError, match="no run 'nope'"):
        load_report(layout, "nope")


def test_reading_never_takes_the_live_database_lock(layout) -> None:
    # A run holding the writer lock (here: this process) does not stop the report, and the
    # report holds no lock the run could trip over: it reads a private copy.
    with duckdb.connect(str(layout.database)) as writer:
        writer.execute("SELECT 1").fetchall()
        assert len(ledger_json(layout)["batches"]) == 3


def test_an_unreadable_database_says_a_run_is_writing_it(layout, monkeypatch) -> None:
    import siheyuan.report as report

    def torn(*_: object) -> None:
        raise duckdb.IOException("torn")

    monkeypatch.setattr(report, "_open_copy", torn)
    monkeypatch.setattr(report.time, "sleep", lambda _: None)
    layout.lock_file.write_text("4242\n")
    with pytest.raises(
        WarehouseLocked, match=r"being written by a running siheyuan run \(pid 4242\)"
    ):
        ledger_json(layout)


def test_rows_a_rejected_batch_would_quarantine_are_told_apart_and_not_counted(layout) -> None:
    """Run r4 rejected D after reading it: its unusable rows are listed, marked ``rejected``;
    the ledger still says nothing of D was quarantined, and the report keeps them apart."""
    d, at = "police_hukou_20261101.csv", T0 + timedelta(minutes=40)
    with duckdb.connect(str(layout.database)) as conn:
        _batch(
            conn,
            d,
            SHA_C,
            "rejected",
            "r4",
            40,
            "quarantine_share failed",
            20,
            code="quarantine_share",
        )
        # refused by the reader before it was split into rows: no count of rows to give
        _batch(
            conn,
            "police_hukou_20261102.csv",
            "e" * 64,
            "rejected",
            "r4",
            41,
            "cut",
            31,
            code="truncated",
        )
        conn.execute(
            "INSERT INTO meta.quarantine (batch_id, dataset, file_name, row_number, source_key, "
            "reason_code, reason, run_id, recorded_at) VALUES "
            "('police_hukou_cccccccc', 'police_hukou', ?, 3, "
            "'P3', 'missing_required', ?, 'r4', ?), ('police_hukou_cccccccc', 'police_hukou', ?, "
            "7, NULL, 'missing_source_key', 'no source key', 'r4', ?)",
            [d, f"required value(s) empty next to {ID}", at, d, at],
        )
    rows = quarantine_json(layout, file_name=d)
    assert [(r["row_number"], r["reason_code"], r["batch_status"]) for r in rows] == [
        (3, "missing_required", "rejected"),
        (7, "missing_source_key", "rejected"),
    ]
    assert all(ID not in r["reason"] for r in rows)
    assert [r["batch_status"] for r in quarantine_json(layout)] == [
        "applied",
        "applied",
        "rejected",
        "rejected",
    ]
    by_file = {b["file"]: b for b in ledger_json(layout)["batches"]}
    assert (by_file[d]["rows_quarantined"], by_file[d]["rows_quarantined_if_accepted"]) == (0, 2)
    first = by_file["police_hukou_20261001.csv"]
    assert (first["rows_quarantined"], first["rows_quarantined_if_accepted"]) == (2, None)
    cut = by_file["police_hukou_20261102.csv"]
    assert (cut["rows_quarantined"], cut["rows_quarantined_if_accepted"]) == (0, None)

    report = load_report(layout, "r4")
    assert report.quarantine == [] and report.quarantine_by_reason == []
    assert [r["row_number"] for r in report.rejected_rows] == [3, 7]
    batches = {b["file_name"]: b for b in report.run_batches}
    assert (batches[d]["rows_quarantined"], batches[d]["rows_quarantined_if_accepted"]) == (0, 2)
    assert batches["police_hukou_20261102.csv"]["rows_quarantined_if_accepted"] is None
    assert report.rejected_rows_by_reason == [
        ("police_hukou", "missing_required", 1),
        ("police_hukou", "missing_source_key", 1),
    ]
    assert report.quarantine_by_reason_all == load_report(layout, "r1").quarantine_by_reason_all
    assert sum(n for _, _, n in report.quarantine_by_reason_all) == 2  # applied rows only


def test_a_rejection_stays_on_every_page_after_the_file_is_accepted_and_applied(layout) -> None:
    """B was rejected in r2 and applied in r3 by an override: its refusal is still history."""
    page = write_report(layout, run_id="r3").read_text(encoding="utf-8")
    section = page.split("<h2>Rejected batches (all runs)</h2>", 1)[1].split("<h2>", 1)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section  # the file, escaped
    assert "r2" in section and "No batch has ever been rejected" not in section


def _linked_marts(layout: WarehouseLayout) -> None:
    """Small marts as a run leaves them: records by link rule, a review pair, a decision,
    the change feed of two versions, findings, and the audit row of v000002."""
    from siheyuan.audit import record_publish

    with duckdb.connect(str(layout.database)) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS history")
        conn.execute(
            "CREATE TABLE marts.resident_source_xref AS SELECT * FROM (VALUES "
            "('police_hukou', 'P1', 'R1', 'id_number'), ('hr_insured', 'H1', 'R1', 'id_number'), "
            "('civil_relief', 'C1', 'R1', 'probabilistic'), ('hr_insured', 'H2', 'R2', "
            "'steward'), ('police_hukou', 'P2', 'R2', 'id_number'), "
            "('police_hukou', 'P3', 'R3', 'singleton')) "
            "t(source_dataset, source_key, resident_id, link_rule)"
        )
        conn.execute(
            "CREATE TABLE marts.resident AS SELECT * FROM (VALUES ('R1', 3), ('R2', 2), "
            "('R3', 1)) t(resident_id, source_record_count)"
        )
        conn.execute(
            "CREATE TABLE marts.review_queue AS SELECT * FROM (VALUES ('p1', 'uncertain'), "
            "('p2', 'uncertain'), ('p3', 'id_conflict')) t(pair_id, reason)"
        )
        conn.execute(
            "INSERT INTO meta.link_decision VALUES ('p9', 'hr_insured', 'h', 'police_hukou', 'k', "
            "'cannot_link', '王芳', ?, 'x'), ('p9', 'hr_insured', 'h', 'police_hukou', 'k', "
            "'must_link', '王芳', ?, 'y')",
            [T0, T0 + timedelta(minutes=5)],
        )
        conn.execute(
            "CREATE TABLE history.resident_change AS SELECT * FROM (VALUES (1, 'R1', 'new'), "
            "(1, 'R2', 'new'), (2, 'R3', 'new'), (2, 'R1', 'changed'), (2, 'R2', 'changed')) "
            "t(version_number, resident_id, change_kind)"
        )
        conn.execute(
            "CREATE TABLE marts.finding AS SELECT * FROM (VALUES ('f1', 'deceased_receiving', "
            "'high'), ('f2', 'deceased_receiving', 'high'), ('f3', 'minor_alone', 'medium')) "
            "t(finding_id, rule_id, severity)"
        )
        record_publish(
            conn, "v000002", 2, "r3", T0 + timedelta(minutes=30), ["x", "y"], {"resident": 11}
        )


def test_json_adds_links_changes_findings_and_audited_publishes(layout) -> None:
    _linked_marts(layout)
    doc = ledger_json(layout)
    assert list(doc)[:2] == ["batches", "held"]  # the keys auditors' tools read come first
    assert len(doc["batches"]) == 3
    links = doc["links"]
    assert links["records_by_rule"] == {
        "id_number": 3,
        "probabilistic": 1,
        "singleton": 1,
        "steward": 1,
    }
    assert (links["residents"], links["single_record_residents"]) == (3, 1)
    assert links["pending_review"] == {"id_conflict": 1, "uncertain": 2}
    assert links["steward_decisions"] == {"must_link": 1}  # the latest decision of a pair
    assert doc["changes"] == {"version_number": 2, "by_kind": {"changed": 2, "new": 1}, "total": 3}
    assert doc["findings"] == [
        {"rule_id": "deceased_receiving", "severity": "high", "findings": 2},
        {"rule_id": "minor_alone", "severity": "medium", "findings": 1},
    ]
    assert [(p["version"], p["audit"] is not None) for p in doc["publishes"]] == [
        ("v000001", False),
        ("v000002", True),
    ]
    audit = doc["publishes"][1]["audit"]
    assert audit["row_accounting"]["totals"]["rows_received"] == 4  # r3 applied B: 4 rows
    assert [p["version"] for p in ledger_json(layout, "r1")["publishes"]] == ["v000001"]


def test_the_page_shows_links_changes_findings_and_the_audit_trail(layout) -> None:
    _linked_marts(layout)
    page = write_report(layout, run_id="r3").read_text(encoding="utf-8")
    for heading in (
        "Publish audit trail",
        "Links in the current version",
        "Change feed of the latest version",
        "Findings in the current version",
    ):
        assert f"<h2>{heading}</h2>" in page
    audit = page.split("<h2>Publish audit trail</h2>", 1)[1].split("<h2>", 1)[0]
    assert "v000002" in audit and "4 / 4 / 0 / 0 / 0" in audit
    links = page.split("<h2>Links in the current version</h2>", 1)[1].split("<h2>", 1)[0]
    assert "6 source records in 3 residents" in links and "3 pair(s) waiting" in links
    assert "deceased_receiving" in page and "minor_alone" in page


def test_an_empty_warehouse_reports_no_links_changes_or_findings(layout) -> None:
    doc = ledger_json(layout)
    assert doc["changes"] == {} and doc["findings"] == []
    assert doc["links"]["records"] == 0
    assert all(p["audit"] is None for p in doc["publishes"])
    page = write_report(layout).read_text(encoding="utf-8")
    assert "No publish has been audited yet." in page and "No findings." in page
