"""The whole job on a small generated population: consumer contract, replay, rejection.

One module-scoped warehouse is built once (generation + ingest + dbt build + publish) and the
tests read it; the replay and rejection tests then run the job again on the same warehouse, in
file order.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from siheyuan.cli import main
from siheyuan.evaluate import evaluate, format_text
from siheyuan.generate import generate_sample
from siheyuan.publish import CONTRACT_TABLES, PUBLISHED_TABLES, read_current
from siheyuan.runner import run_job
from siheyuan.settings import WarehouseLayout

pytestmark = pytest.mark.slow

PERSONS = 400
SEED = 11

HISTORY_COLUMNS = {"valid_from", "valid_to", "valid_from_version", "valid_to_version", "is_current"}
CONTRACT_COLUMNS = {
    "resident": {
        "resident_id",
        "id_number",
        "name",
        "sex_code",
        "ethnicity_code",
        "birth_date",
        "household_id",
        "building_id",
        "status",
    },
    "household": {"household_id", "hukou_number", "head_resident_id", "building_id"},
    "household_member": {"household_id", "resident_id", "relation_code"},
    "building": {"building_id"},
    "resident_source_xref": {"source_dataset", "source_key", "resident_id"},
    # golden records (issue 7): lineage, findings, tags, history, the change feed, id history
    "resident_attribute_lineage": {
        "resident_id", "attribute", "value", "source_dataset", "source_key", "batch_id",
        "business_date", "rule", "candidate_count", "distinct_value_count",
    },
    "resident_attribute_conflict": {
        "resident_id", "attribute", "value", "source_dataset", "source_key", "batch_id",
        "business_date", "is_survivor",
    },
    "finding": {"finding_id", "rule_id", "severity", "resident_id", "detail", "evidence"},
    "resident_tag": {"resident_id", "tag", "since", "source_dataset", "source_key"},
    "resident_history": {"resident_id", "building_id", "status", *HISTORY_COLUMNS},
    "household_history": {"household_id", "head_resident_id", *HISTORY_COLUMNS},
    "household_member_history": {"household_id", "resident_id", *HISTORY_COLUMNS},
    "resident_change": {
        "version_number", "as_of", "resident_id", "change_kind", "changed_fields",
        "related_resident_id",
    },
    "resident_id_history": {
        "version_number", "old_resident_id", "new_resident_id", "event", "record_count", "reason",
    },
}  # fmt: skip
KEYS = {
    "resident": ["resident_id"],
    "household": ["household_id"],
    "household_member": ["household_id", "resident_id"],
    "building": ["building_id"],
    "resident_source_xref": ["source_dataset", "source_key"],
    "resident_attribute_lineage": ["resident_id", "attribute"],
    "resident_attribute_conflict": ["resident_id", "attribute", "source_dataset", "source_key"],
    "finding": ["finding_id"],
    "resident_tag": ["resident_id", "tag"],
    "resident_history": ["resident_id", "valid_from_version"],
    "household_history": ["household_id", "valid_from_version"],
    "household_member_history": ["household_id", "resident_id", "valid_from_version"],
    "resident_change": ["version_number", "resident_id", "change_kind"],
    "resident_id_history": ["version_number", "old_resident_id", "event", "new_resident_id"],
}
# a retired id has no successor: the last key column of these tables may be NULL
NULLABLE_LAST_KEY = {"resident_id_history"}
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _valid_id(value: str) -> bool:
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate_sample(persons=PERSONS, seed=SEED, out=out, round_no=1)
    return out


@pytest.fixture(scope="module")
def first_run(sample: Path, tmp_path_factory: pytest.TempPathFactory):
    warehouse = tmp_path_factory.mktemp("warehouse")
    report = run_job(sample / "landing", warehouse)
    return report, WarehouseLayout(warehouse)


def _rows(table, *columns: str) -> list[tuple]:
    """The table's values of ``columns``, one tuple per row."""
    return list(zip(*(table.column(c).to_pylist() for c in columns), strict=True))


def _tables(layout: WarehouseLayout) -> dict[str, object]:
    version = read_current(layout)
    assert version
    return {t: pq.read_table(layout.published / version / f"{t}.parquet") for t in PUBLISHED_TABLES}


def test_first_run_publishes_version_one_with_all_tables(first_run) -> None:
    report, layout = first_run
    assert report.status == "published", report.message
    assert report.version == "v000001" == read_current(layout)
    folder = layout.published / "v000001"
    assert {p.name for p in folder.glob("*.parquet")} == {f"{t}.parquet" for t in PUBLISHED_TABLES}
    assert (folder / "_manifest.json").exists()
    assert all(report.table_rows[t] > 0 for t in CONTRACT_TABLES)
    # the consumers' views and the audit record travel with the version
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    assert (folder / "views" / "analytics" / "resident.parquet").is_file()
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    assert manifest["audit"]["file"] == "audit.json"
    assert (audit["version"], audit["table_rows"]) == ("v000001", report.table_rows)


def test_dbt_writes_its_target_into_the_warehouse_not_a_new_project_folder(first_run) -> None:
    """dagster-dbt's default is a new ``target/<asset>-<hash>`` per invocation: unbounded growth."""
    _, layout = first_run
    assert (layout.dbt_target / "run_results.json").is_file()
    assert (layout.dbt_target / "manifest.json").is_file()
    run_results = json.loads((layout.dbt_target / "run_results.json").read_text(encoding="utf-8"))
    assert any(r["unique_id"] == "model.siheyuan.resident" for r in run_results["results"])


def test_tables_have_the_contract_columns_and_unique_keys(first_run) -> None:
    _, layout = first_run
    for name, table in _tables(layout).items():
        assert CONTRACT_COLUMNS[name] <= set(table.column_names), name
        keys = _rows(table, *KEYS[name])
        assert len(keys) == len(set(keys)), f"{name} key not unique"
        required = [k[:-1] if name in NULLABLE_LAST_KEY else k for k in keys]
        assert all(all(v is not None for v in k) for k in required), f"{name} key has nulls"


def test_published_id_numbers_are_canonical_or_null(first_run) -> None:
    _, layout = first_run
    ids = [v for v in _tables(layout)["resident"].column("id_number").to_pylist() if v is not None]
    assert ids, "no resident has an ID number"
    assert all(_valid_id(v) for v in ids)


def test_every_accepted_record_maps_to_exactly_one_resident(first_run) -> None:
    _, layout = first_run
    tables = _tables(layout)
    xref = tables["resident_source_xref"]
    pairs = _rows(xref, "source_dataset", "source_key")
    assert len(pairs) == len(set(pairs))
    residents = set(tables["resident"].column("resident_id").to_pylist())
    assert set(xref.column("resident_id").to_pylist()) <= residents
    with duckdb.connect(str(layout.database), read_only=True) as conn:
        accepted = set()
        for dataset in (
            "police_hukou",
            "police_floating",
            "civil_assistance",
            "health_records",
            "hr_insured",
        ):
            accepted |= {
                (dataset, k)
                for (k,) in conn.execute(
                    f'SELECT DISTINCT _source_key FROM raw."{dataset}"'
                ).fetchall()
            }
    assert set(pairs) == accepted


def test_ledger_balances_and_truth_records_are_accounted_for(first_run, sample: Path) -> None:
    _, layout = first_run
    with duckdb.connect(str(layout.database), read_only=True) as conn:
        rows = conn.execute(
            "SELECT file_name, rows_received, rows_accepted, rows_quarantined, rows_duplicate "
            "FROM meta.batch WHERE status = 'applied'"
        ).fetchall()
        quarantined = {
            (d, k)
            for d, k in conn.execute(
                "SELECT dataset, source_key FROM meta.quarantine WHERE source_key IS NOT NULL"
            ).fetchall()
        }
    assert len(rows) == 5
    for name, received, accepted, quarantined_n, duplicate in rows:
        assert received == accepted + quarantined_n + duplicate, name
    xref = _tables(layout)["resident_source_xref"]
    published = set(_rows(xref, "source_dataset", "source_key"))
    with (sample / "truth" / "round_1" / "records.csv").open(encoding="utf-8") as fh:
        truth = {(r["dataset"], r["source_key"]) for r in csv.DictReader(fh)}
    missing = truth - published - quarantined
    assert not missing, f"{len(missing)} generated records neither published nor quarantined"


def test_evaluate_meets_the_standardisation_targets(first_run, sample: Path) -> None:
    _, layout = first_run
    result = evaluate(sample / "truth", layout.root)
    ids, buildings = result["id_numbers"], result["buildings"]
    assert ids["recoverable"] > 500
    assert ids["recoverable_canonical_share"] == 1.0
    assert ids["unrecoverable"] > 0 and ids["unrecoverable_guessed"] == 0
    assert buildings["correct_share"] >= 0.995 and buildings["wrong_share"] < 0.001
    assert ids["meets_targets"] and buildings["meets_targets"]
    # the linking targets are measured too (see test_evaluate_linking); the exit code follows all
    assert ("meets targets: yes" in format_text(result)) == result["meets_targets"]
    cli = CliRunner().invoke(
        main,
        ["evaluate", "--truth", str(sample / "truth"), "--warehouse", str(layout.root), "--json"],
    )
    assert cli.exit_code == (0 if result["meets_targets"] else 1), cli.output
    assert json.loads(cli.output)["id_numbers"]["recoverable"] == ids["recoverable"]


def test_evaluate_notices_a_record_keyed_to_the_wrong_id(
    first_run, sample: Path, tmp_path: Path
) -> None:
    """Pins that the measure can fail: a truth that disagrees with the hub is reported."""
    _, layout = first_run
    truth = tmp_path / "truth"
    shutil.copytree(sample / "truth" / "round_1", truth)
    with (truth / "records.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with (truth / "dirt.csv").open(encoding="utf-8", newline="") as fh:
        dirty = {(d["dataset"], d["source_key"]) for d in csv.DictReader(fh)}
    victim = next(
        r
        for r in rows
        if r["dataset"] == "police_hukou"
        and r["true_id_number"]
        and (r["dataset"], r["source_key"]) not in dirty
    )
    other = next(r for r in rows if r["true_id_number"] not in ("", victim["true_id_number"]))
    victim["true_id_number"] = other["true_id_number"]
    with (truth / "records.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    ids = evaluate(truth, layout.root)["id_numbers"]
    assert ids["recoverable_wrong"] == 1
    assert not ids["meets_targets"]


def test_replaying_the_same_files_changes_nothing(first_run, sample: Path) -> None:
    _, layout = first_run
    before = {t: tbl.to_pylist() for t, tbl in _tables(layout).items()}
    again = run_job(sample / "landing", layout.root)
    assert again.status == "nothing_new" and again.exit_code == 0
    # the same bytes under a new name: recorded as a duplicate, no new version, no new rows
    src = next((sample / "landing" / "police").glob("police_hukou_*.csv"))
    renamed = src.with_name(src.stem + "_09.csv")
    shutil.copy(src, renamed)
    try:
        replay = run_job(sample / "landing", layout.root)
    finally:
        renamed.unlink()
    assert replay.exit_code == 0
    assert [b["status"] for b in replay.batches] == ["duplicate"]
    assert read_current(layout) == "v000001"
    after = {t: tbl.to_pylist() for t, tbl in _tables(layout).items()}
    assert after == before


def test_a_broken_batch_is_rejected_and_current_stays(
    first_run, sample: Path, tmp_path: Path
) -> None:
    _, layout = first_run
    current = read_current(layout)
    versions = sorted(p.name for p in layout.published.glob("v*"))
    landing = tmp_path / "landing"
    shutil.copytree(sample / "landing", landing)
    src = next((landing / "police").glob("police_hukou_*.csv"))
    bad = landing / "police" / "police_hukou_20991231.csv"
    bad.write_bytes(src.read_text(encoding="utf-8").encode("gb18030"))  # wrong encoding
    report = run_job(landing, layout.root)
    assert report.status == "rejected" and report.exit_code == 1
    assert bad.name in (report.message or "")
    assert "\n" not in (report.message or "")
    assert read_current(layout) == current  # CURRENT unchanged, no version written
    assert sorted(p.name for p in layout.published.glob("v*")) == versions
    # left in place unchanged, it is refused again on the next run, with the same reason
    again = run_job(landing, layout.root)
    assert again.status == "rejected" and "unchanged since it was rejected" in (again.message or "")
    assert [(b["file_name"], b["status"]) for b in again.batches] == [(bad.name, "rejected")]


def test_a_corrected_file_publishes_and_a_quarantined_row_does_not_end_its_record(
    first_run, sample: Path, tmp_path: Path
) -> None:
    _, layout = first_run
    before = _tables(layout)
    current_before = read_current(layout)
    landing = tmp_path / "landing"
    shutil.copytree(sample / "landing", landing)
    src = next((landing / "police").glob("police_hukou_*.csv"))
    lines = src.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[5].split(",")
    key = row[header.index("人员编号")].strip()
    row[header.index("姓名")] = ""  # no name: the row is quarantined
    lines[5] = ",".join(row)
    fixed = landing / "police" / "police_hukou_20991230.csv"
    fixed.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    report = run_job(landing, layout.root)
    assert report.status == "published", report.message
    assert read_current(layout) == report.version != current_before
    after = _tables(layout)
    xref = {
        (r["source_dataset"], r["source_key"]): r for r in after["resident_source_xref"].to_pylist()
    }
    record = xref[("police_hukou", key)]
    assert record["record_status"] == "active" and record["carried_forward"] is True
    # the same people, the same ids, the same content: re-publishing the same data is stable
    assert after["resident"].to_pylist() == before["resident"].to_pylist()
    assert after["household"].to_pylist() == before["household"].to_pylist()
    assert after["building"].to_pylist() == before["building"].to_pylist()
    # identical content gives identical Parquet files (byte for byte)
    manifests = [
        json.loads((layout.published / v / "_manifest.json").read_text(encoding="utf-8"))
        for v in (current_before, read_current(layout))
    ]
    for table in ("resident", "household", "building"):
        assert manifests[0]["tables"][table]["sha256"] == manifests[1]["tables"][table]["sha256"]


def test_buildings_are_placed_in_the_generated_district_only(first_run, sample: Path) -> None:
    _, layout = first_run
    building = _tables(layout)["building"]
    districts = set(building.column("district").to_pylist())
    assert districts == {"西湖区"}  # e.g. a leading 之江社区 is a community, not a district
    with (sample / "truth" / "round_1" / "buildings.csv").open(encoding="utf-8") as fh:
        truth = {(r["compound"], r["building_no"].removesuffix("幢")) for r in csv.DictReader(fh)}
    published = set(_rows(building, "compound", "building_no"))
    assert published <= truth  # never a building that does not exist
