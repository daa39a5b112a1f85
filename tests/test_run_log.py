"""A run's own record: its log file under ``<warehouse>/logs`` and nothing left in ``work/``.

Every run ``run_job`` executes — a rejected one too — writes ``run-<run id>.log`` with the
run's ``siheyuan`` log lines, Dagster's event log lines and dbt's output, masked (dbt's own
unmasked ``dbt.log`` is not written); and a run that ends, whatever its outcome, deletes its
working copy of the database, so that the next run's "removed working file … of an unfinished
run" means a killed or crashed run only.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from siheyuan.contracts import load_contracts
from siheyuan.definitions import defs
from siheyuan.defs.dbt_assets import dbt_project
from siheyuan.defs.resources import WarehouseResource
from siheyuan.generate import generate_sample
from siheyuan.publish import read_current
from siheyuan.run_log import RunLog
from siheyuan.runlock import RunLock, WarehouseBusy
from siheyuan.runner import run_job
from siheyuan.settings import WarehouseLayout
from siheyuan.standardise.id_number import check_char

# A citizen whose number and phone must never reach a log (valid check digit, so it is data).
VALID_ID = "33010619850302123" + check_char("33010619850302123")
PHONE = "13912345678"
# Hex identifiers (UUID run ids, SHA-256 hashes) hold digit runs of any length: blank them first.
_HEX = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{32,}\b"
)
_ID_LIKE = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def _wrong_check(first17: str) -> str:
    return first17 + ("0" if check_char(first17) != "0" else "1")


def _hukou_with_bad_id_numbers(landing: Path) -> Path:
    """24 people (enough for the gate's shares), 20 of whose ID numbers fail the check digit:
    the batch is rejected for its ID numbers after its rows were read."""
    path = landing / "police" / "police_hukou_20261001.csv"
    path.parent.mkdir(parents=True)
    header = ",".join(load_contracts()["police_hukou"].column_names)
    rows = [f"P00,{VALID_ID},张伟,,1,01,19850302,H00,01,学院路77号,正常,"]
    for n in range(1, 24):
        born = f"19{60 + n:02d}0{1 + n % 9}1{n % 10}"
        first17 = f"330106{born}{n:03d}"
        number = first17 + check_char(first17) if n < 4 else _wrong_check(first17)
        rows.append(
            f"P{n:02d},{number},居民{n},,{1 + n % 2},01,{born},H{n:02d},01,文三路{n}号,正常,"
        )
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _no_id_number_or_phone(text: str) -> None:
    scrubbed = _HEX.sub("<hex>", text)
    assert VALID_ID not in scrubbed and PHONE not in scrubbed
    assert not _ID_LIKE.search(scrubbed), _ID_LIKE.search(scrubbed)


def test_a_rejected_run_logs_its_own_lines_and_leaves_no_working_copy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = _hukou_with_bad_id_numbers(tmp_path / "landing")
    layout = WarehouseLayout(tmp_path / "wh")
    report = run_job(tmp_path / "landing", layout.root)
    assert report.status == "rejected", report.message
    assert not any(layout.work_dir.iterdir())  # the run's working copy went with the run

    with duckdb.connect(str(layout.database), read_only=True) as conn:
        (code,) = conn.execute(
            "SELECT reason_code FROM meta.batch WHERE file_name = ? AND run_id = ?",
            [bad.name, report.run_id],
        ).fetchone()
    text = (layout.logs_dir / f"run-{report.run_id}.log").read_text(encoding="utf-8")
    assert f"rejected {bad.name} ({code})" in text  # siheyuan's line and Dagster's
    assert "siheyuan.runner" in text and "STEP_FAILURE" in text
    _no_id_number_or_phone(text)

    # The next run (the file still there, unchanged) finds nothing to recover.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="siheyuan"):
        again = run_job(tmp_path / "landing", layout.root)
    assert again.status == "rejected"
    assert not [r for r in caplog.records if "recovery:" in r.getMessage()]
    assert not any(layout.work_dir.iterdir())
    assert bad.name in (layout.logs_dir / f"run-{again.run_id}.log").read_text(encoding="utf-8")


def test_what_is_written_to_stdout_during_a_run_reaches_its_log_masked(tmp_path: Path) -> None:
    """dagster-dbt re-emits dbt's lines with ``sys.stdout.write``: a failed model's DuckDB error
    quotes the value, and a number split across two writes must be masked all the same."""
    run_log = RunLog(tmp_path / "logs")
    before = sys.stdout
    with run_log, run_log.writing("r1"):
        sys.stdout.write(f"Conversion Error: Could not convert string '{VALID_ID}' to INT64\n")
        sys.stdout.flush()
        sys.stdout.write(f"phone {PHONE[:5]}")  # a line that arrives in pieces
        sys.stdout.flush()
        sys.stdout.write(f"{PHONE[5:]}, condition 高血压\nid {VALID_ID[:9]}")
        sys.stdout.write(VALID_ID[9:])  # the run ends before this line does
    text = run_log.path("r1").read_text(encoding="utf-8")
    _no_id_number_or_phone(text)
    assert "高血压" not in text
    assert text.count(VALID_ID[:6] + "********" + VALID_ID[-4:]) == 2, text
    assert f"phone {PHONE[:3]}****{PHONE[-4:]}, condition " in text
    assert sys.stdout is before


def test_every_job_runs_its_steps_in_one_process() -> None:
    """A UI "Materialize" uses the implicit asset job: under the multiprocess executor each step
    would set up and tear down the warehouse resource, deleting the previous step's working copy."""
    jobs = [defs.resolve_implicit_global_asset_job_def(), *defs.resolve_all_job_defs()]
    assert {job.executor_def.name for job in jobs} == {dg.in_process_executor.name}


def test_teardown_of_a_run_that_found_the_warehouse_busy_deletes_nothing(tmp_path: Path) -> None:
    """The working copy in ``work/`` belongs to the run holding the lock, never to a refused one."""
    layout = WarehouseLayout(tmp_path / "wh")
    layout.work_dir.mkdir(parents=True)
    layout.working_database.write_bytes(b"another run's working copy")
    resource = WarehouseResource(warehouse=str(layout.root), landing=str(tmp_path))
    context = dg.build_init_resource_context()
    with RunLock(layout.lock_file):  # another run holds the warehouse
        with pytest.raises(WarehouseBusy):
            resource.setup_for_execution(context)
        resource.teardown_after_execution(context)
        assert layout.working_database.exists()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[WarehouseLayout, str, Path]:
    root = tmp_path_factory.mktemp("published")
    generate_sample(persons=60, seed=5, out=root / "sample", round_no=1)
    layout = WarehouseLayout(root / "wh")
    report = run_job(root / "sample" / "landing", layout.root)
    assert report.status == "published", report.message
    return layout, report.run_id or "", root / "sample" / "landing"


def test_a_published_run_leaves_no_working_copy_and_logs_dbt_and_dagster(published) -> None:
    layout, run_id, _ = published
    assert read_current(layout) == "v000001"
    assert not any(layout.work_dir.iterdir())
    text = (layout.logs_dir / f"run-{run_id}.log").read_text(encoding="utf-8")
    assert "Running with dbt=" in text  # dbt's own output
    assert "RUN_SUCCESS" in text and "published v000001" in text
    _no_id_number_or_phone(text)


def test_dbt_writes_no_file_log_of_its_own(published) -> None:
    """dbt's ``dbt.log`` would repeat its stdout unmasked; the run log has that output already."""
    layout, _, _ = published
    assert (layout.dbt_target / "run_results.json").exists()  # dbt did write to this folder
    log_file = layout.dbt_target / "dbt.log"
    assert not log_file.exists() or log_file.stat().st_size == 0


def test_the_dbt_summary_counts_models_seeds_and_tests_apart(published) -> None:
    layout, run_id, _ = published
    nodes = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))["nodes"].values()
    count = {k: sum(n["resource_type"] == k for n in nodes) for k in ("model", "seed", "test")}
    text = (layout.logs_dir / f"run-{run_id}.log").read_text(encoding="utf-8")
    assert (
        f"dbt build: {count['model']} models and {count['seed']} seeds built, "
        f"{count['test']} tests passed"
    ) in text


def test_a_run_of_duplicates_only_records_them_and_leaves_no_working_copy(published) -> None:
    layout, _, landing = published
    first = sorted(landing.rglob("hr_insured_*.csv"))[0]
    replay = first.with_name("hr_insured_20991231.csv")
    replay.write_bytes(first.read_bytes())
    report = run_job(landing, layout.root)
    assert report.status == "nothing_new", report.message
    assert [(b["file_name"], b["status"]) for b in report.batches] == [(replay.name, "duplicate")]
    assert read_current(layout) == "v000001"
    assert not any(layout.work_dir.iterdir())
