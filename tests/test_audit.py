"""The audit trail: one append-only row per publish that lets an auditor rebuild its story."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import siheyuan.audit as audit
from leak_scan import ids_or_phones
from siheyuan.audit import read_audit, record_publish
from siheyuan.generate import generate_sample
from siheyuan.runner import run_job

AT = datetime(2026, 12, 1, 9, 30)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small sample through the real job (the live database of a published warehouse)."""
    out = tmp_path_factory.mktemp("sample")
    generate_sample(persons=300, seed=5, out=out, round_no=1)
    warehouse = tmp_path_factory.mktemp("warehouse")
    assert run_job(out / "landing", warehouse).status == "published"
    return warehouse / "siheyuan.duckdb"


@pytest.fixture()
def conn(built: Path, tmp_path: Path):
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(built, copy)
    with duckdb.connect(str(copy)) as c:
        yield c


def _run(conn) -> tuple[str, list[str], dict[str, int]]:
    (run_id,) = conn.execute(
        "SELECT run_id FROM meta.publish ORDER BY version_number DESC LIMIT 1"
    ).fetchone()
    batches = [
        r[0]
        for r in conn.execute(
            "SELECT batch_id FROM meta.batch WHERE status = 'applied' ORDER BY apply_seq"
        ).fetchall()
    ]
    return run_id, batches, {"resident": 300, "resident_source_xref": 689}


def test_a_publish_records_its_whole_story(conn) -> None:
    run_id, batches, rows = _run(conn)
    record = record_publish(conn, "v000002", 2, run_id, AT, batches, rows)
    assert (record["version"], record["version_number"], record["run_id"]) == (
        "v000002",
        2,
        run_id,
    )
    assert record["published_at"] == "2026-12-01T09:30:00Z"
    assert record["batches"] == batches and record["table_rows"] == rows
    received = conn.execute(
        "SELECT sum(rows_received), sum(rows_accepted), sum(rows_quarantined) FROM meta.batch "
        "WHERE run_id = ? AND status = 'applied'",
        [run_id],
    ).fetchone()
    totals = record["row_accounting"]["totals"]
    assert (totals["rows_received"], totals["rows_accepted"], totals["rows_quarantined"]) == (
        tuple(int(x) for x in received)
    )
    assert len(record["row_accounting"]["files"]) == len(batches)
    xref = dict(
        conn.execute(
            "SELECT link_rule, count(*) FROM marts.resident_source_xref GROUP BY 1"
        ).fetchall()
    )
    assert record["links"]["records_by_rule"] == xref
    assert 0 < totals["rows_published"] <= totals["rows_accepted"]
    assert (
        record["links"]["residents"]
        == conn.execute("SELECT count(*) FROM marts.resident").fetchone()[0]
    )
    checks = conn.execute(
        "SELECT count(*) FROM meta.check_result WHERE run_id = ?", [run_id]
    ).fetchone()[0]
    assert record["checks"]["total"] == checks > 0
    assert record["checks"]["passed"] + record["checks"]["failed"] == checks
    assert re.fullmatch(r"[0-9a-f]{64}", record["model"]["sha256"])
    assert re.fullmatch(r"[0-9a-f]{64}", record["code"]["config_sha256"])
    assert record["code"]["package_version"]
    assert json.loads(json.dumps(record)) == record  # JSON-able as returned
    # the run's own publish recorded v000001 (the same record also lies in its folder)
    first, last = read_audit(conn)
    assert (first["version"], last) == ("v000001", record)


def test_the_table_is_append_only_and_holds_no_id_number_or_phone(conn) -> None:
    run_id, batches, rows = _run(conn)
    conn.execute(
        "INSERT INTO meta.check_result VALUES (?, 'b', 'police_hukou', 'f.csv', 'volume_change', "
        "'batch', true, false, true, '-60 %', '-50 %', ?, ?)",
        [run_id, "fell next to 330106198503021234 and 13812345678", AT],
    )
    first = record_publish(conn, "v000002", 2, run_id, AT, batches, rows)
    second = record_publish(conn, "v000003", 3, run_id, AT, batches[:1], rows)
    versions = [r["version"] for r in read_audit(conn)]
    assert versions == ["v000001", "v000002", "v000003"]
    assert first["checks"]["overridden"] >= 1
    stored = conn.execute("SELECT record::VARCHAR FROM meta.publish_audit").fetchall()
    text = " ".join(r[0] for r in stored) + json.dumps([first, second])
    assert not ids_or_phones(text)
    assert "330106********1234" in text


def test_code_version_falls_back_to_the_package_without_git(monkeypatch) -> None:
    def no_git(*_: object, **__: object) -> None:
        raise FileNotFoundError("git")

    monkeypatch.setattr(audit.subprocess, "run", no_git)
    code = audit.code_version()
    assert code["git_commit"] is None and code["package_version"]


# ---------------------------------------------------------------------------------------------
# explain --version: an auditor asks why a resident looked as it did in a published version.


@pytest.fixture()
def warehouse_copy(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "wh"
    shutil.copytree(built.parent, copy)
    return copy


def test_explain_reads_a_published_version_not_the_live_marts(warehouse_copy: Path) -> None:
    from siheyuan.explain import explain, format_text
    from siheyuan.settings import WarehouseLayout

    layout = WarehouseLayout(warehouse_copy)
    with duckdb.connect(str(layout.database)) as conn:
        (rid,) = conn.execute(
            "SELECT resident_id FROM marts.resident_source_xref "
            "WHERE link_rule = 'probabilistic' ORDER BY 1 LIMIT 1"
        ).fetchone()
    live = explain(layout, rid)
    as_published = explain(layout, rid, "v000001")
    assert as_published["version"] == "v000001" and live["version"] is None
    assert as_published["resident"] == live["resident"]
    assert as_published["lineage"] == live["lineage"]
    assert [(r["dataset"], r["source_key"], r["link_rule"]) for r in as_published["records"]] == [
        (r["dataset"], r["source_key"], r["link_rule"]) for r in live["records"]
    ]
    # the link evidence is the warehouse's: the same waterfalls as the live explain
    assert [r.get("waterfall") for r in as_published["records"]] == [
        r.get("waterfall") for r in live["records"]
    ]
    # the live marts move on (here: the resident is gone); the version still explains it
    with duckdb.connect(str(layout.database)) as conn:
        conn.execute("DELETE FROM marts.resident WHERE resident_id = ?", [rid])
        conn.execute(
            "UPDATE marts.resident_source_xref SET link_rule = 'x' WHERE resident_id = ?", [rid]
        )
    with pytest.raises(LookupError, match="no such resident in the current version"):
        explain(layout, rid)
    again = explain(layout, rid, "v000001")
    assert again["resident"] == live["resident"]
    assert {r["link_rule"] for r in again["records"]} == {r["link_rule"] for r in live["records"]}
    text = format_text(again)
    assert "as published in v000001" in text and not ids_or_phones(text)
    with pytest.raises(LookupError, match=r"no published version 'v000009'.*kept: v000001"):
        explain(layout, rid, "v000009")
    with pytest.raises(LookupError, match="no such resident in version v000001"):
        explain(layout, "Rnope", "v000001")
