"""The bad-batch matrix: each way a department file breaks, run through the whole job.

One generated sample and one warehouse for the module: the baseline run publishes v000001, then
every case lands its broken file beside the good ones in a landing folder of its own and runs the
job. A rejected batch must leave CURRENT where it was, exit non-zero with one line naming the
file, and be recorded (with its check results) in the live registry; an accepted one publishes.
Every case ends with the ledger balanced: received = accepted + quarantined + duplicate for an
applied or duplicate file, nothing accepted or quarantined for a rejected one.

The accepted cases (BOM, 2 % unusable rows, one malformed JSON line, a replay under a new name,
a volume drop accepted by an override, a good file held back by a rejected run, sensitive values
in the wrong columns) share one run, so the module builds dbt only twice.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from leak_scan import ids_or_phones, leaks
from siheyuan.generate import breakage, generate_sample
from siheyuan.publish import read_current
from siheyuan.quality.overrides import accept_batch
from siheyuan.runner import RunReport, plan, run_job
from siheyuan.settings import WarehouseLayout
from siheyuan.standardise.id_number import check_char

pytestmark = pytest.mark.slow

# Shaped like the real thing (valid check digit, a mobile, a condition from the generator).
SENSITIVE_ID = "11010519491231002X"
SENSITIVE_PHONE = "13912345678"
SENSITIVE_CONDITION = "2型糖尿病"

PERSONS = 300
SEED = 5
DATE = "20261001"  # the extract date of round 1 (the generator's first month)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate_sample(persons=PERSONS, seed=SEED, out=out, round_no=1)
    assert (out / "landing" / "police" / f"police_hukou_{DATE}.csv").exists()
    return out / "landing"


@pytest.fixture(scope="module")
def layout(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> WarehouseLayout:
    warehouse = tmp_path_factory.mktemp("warehouse")
    report = run_job(sample, warehouse)
    assert report.status == "published", report.message
    return WarehouseLayout(warehouse)


def _landing(sample: Path, tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    shutil.copytree(sample, landing)
    return landing


def _src(landing: Path, dataset: str) -> Path:
    return next(landing.glob(f"*/{dataset}_{DATE}.*"))


def _query(layout: WarehouseLayout, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(layout.database), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def _assert_ledger_balanced(layout: WarehouseLayout) -> None:
    rows = _query(
        layout,
        "SELECT file_name, status, rows_received, rows_accepted, rows_quarantined, "
        "rows_duplicate FROM meta.batch",
    )
    assert rows
    for name, status, received, accepted, quarantined, duplicate in rows:
        if status == "rejected":  # received: what was read before the refusal (NULL: not read)
            assert accepted == quarantined == duplicate == 0, name
        else:
            assert received == accepted + quarantined + duplicate, (name, status)
    per_file = _query(
        layout,
        "SELECT b.file_name, b.rows_quarantined, count(q.row_number) FROM meta.batch b "
        "LEFT JOIN meta.quarantine q USING (batch_id) WHERE b.status = 'applied' GROUP BY ALL",
    )
    for name, recorded, listed in per_file:
        assert recorded == listed, name


def _assert_rejected(
    layout: WarehouseLayout, landing: Path, bad: Path, reason: str, check: str
) -> RunReport:
    """The run refuses ``bad``: one line naming it, CURRENT unchanged, recorded with checks."""
    before = read_current(layout)
    report = run_job(landing, layout.root)
    message = report.message or ""
    assert report.status == "rejected" and report.exit_code == 1, message
    assert bad.name in message and "\n" not in message
    assert re.search(reason, message), message
    assert read_current(layout) == before
    recorded = _query(
        layout,
        "SELECT status, reason FROM meta.batch WHERE file_name = ? AND run_id = ?",
        [bad.name, report.run_id],
    )
    assert [s for s, _ in recorded] == ["rejected"]
    failed = _query(
        layout,
        "SELECT check_name, blocking FROM meta.check_result WHERE file_name = ? AND run_id = ? "
        "AND NOT passed",
        [bad.name, report.run_id],
    )
    assert (check, True) in failed
    _assert_ledger_balanced(layout)
    return report


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    enc = breakage.source_encoding(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding=enc), newline="")))
    return rows[0], rows[1:]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding=breakage.source_encoding(path), newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *rows])
    return path


# --- rejected whole ---------------------------------------------------------------------------


# Dated after every file the accepted fixture lands (2026-11-30 … 12-02), so a case is judged
# on its breakage whichever runs first: an older file would be refused as out of order instead.
CASES = {
    # case: (dataset, file name to land, how it is broken, the reason the run must give)
    "wrong_encoding": (
        "police_hukou",
        "police_hukou_20270101.csv",
        breakage.wrong_encoding,
        "cannot be decoded as utf-8",
    ),
    "renamed_column": (
        "police_hukou",
        "police_hukou_20270102.csv",
        lambda src, dst: breakage.rename_column(src, dst, "姓名", "名字"),
        "missing or renamed: 姓名; unexpected columns: 名字",
    ),
    "missing_column": (
        "hr_insured",
        "hr_insured_20270102.csv",
        lambda src, dst: breakage.drop_column(src, dst, "社会保障号码"),
        "missing or renamed: 社会保障号码",
    ),
    "truncated_mid_row": (
        "police_floating",
        "police_floating_20270103.csv",
        breakage.truncate_mid_row,
        "truncated",
    ),
    "truncated_mid_character": (
        "hr_insured",
        "hr_insured_20270103.csv",
        breakage.truncate_mid_character,
        "cannot be decoded as gb18030",
    ),
    "header_only_snapshot": (
        "police_floating",
        "police_floating_20270104.csv",
        breakage.header_only,
        "would end every record",
    ),
    "xlsx_sheet_renamed": (
        "civil_assistance",
        "civil_assistance_20270104.xlsx",
        breakage.rename_sheet,
        "sheet '救助对象' not found",
    ),
    "renamed_optional_jsonl_key": (
        "health_records",
        "health_records_20270105.jsonl",
        lambda src, dst: _rename_json_key(src, dst, "id_no", "idno"),
        "declared key(s) on no line: id_no; undeclared key(s) on most lines: idno",
    ),
}


def _rename_json_key(src: Path, dst: Path, old: str, new: str) -> Path:
    """Update rows whose optional key ``old`` is now called ``new`` (its values would be lost)."""
    lines = []
    for line in src.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        obj["op"] = "U"
        obj[new] = obj.pop(old)
        lines.append(json.dumps(obj, ensure_ascii=False))
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


@pytest.mark.parametrize("case", list(CASES))
def test_an_unreadable_file_is_rejected_whole(layout, sample, tmp_path, case: str) -> None:
    dataset, name, breaks, reason = CASES[case]
    landing = _landing(sample, tmp_path)
    src = _src(landing, dataset)
    bad = breaks(src, src.with_name(name))
    _assert_rejected(layout, landing, bad, re.escape(reason), "intake")


def _break_check_digit(value: str) -> str:
    good = check_char(value[:17])
    return value[:17] + next(c for c in "0123456789X" if c != good)


def test_forty_percent_bad_id_check_digits_is_rejected(layout, sample, tmp_path) -> None:
    landing = _landing(sample, tmp_path)
    header, rows = _read_csv(_src(landing, "police_hukou"))
    col = header.index("公民身份号码")
    candidates = [r for r in rows if re.fullmatch(r"\d{17}[\dX]", r[col] if len(r) > col else "")]
    for row in candidates[: int(len(rows) * 0.4) + 1]:
        row[col] = _break_check_digit(row[col])
    bad = _write_csv(landing / "police" / "police_hukou_20270105.csv", header, rows)
    report = _assert_rejected(layout, landing, bad, r"id_number_valid failed", "id_number_valid")
    assert not re.search(r"\d{17}[\dX]", report.message or "")
    # the ledger says how many rows were read before the refusal, as the check lines do
    ledger = _query(
        layout,
        "SELECT rows_received, rows_accepted FROM meta.batch WHERE file_name = ?",
        [bad.name],
    )
    assert ledger == [(len(rows), 0)]


# --- accepted (one shared run), and the volume drop accepted by an override ------------------


@pytest.fixture(scope="module")
def accepted(layout, sample, tmp_path_factory):
    """Land the volume drop (rejected), accept it by override, then the accepted cases."""
    landing = _landing(sample, tmp_path_factory.mktemp("accepted"))
    header, rows = _read_csv(_src(landing, "police_hukou"))

    # a bad file and a good file of another dataset in one run: nothing applied, the good one held
    bad = breakage.wrong_encoding(
        _src(landing, "police_hukou"), landing / "police" / "police_hukou_20261130.csv"
    )
    f_header, f_rows = _read_csv(_src(landing, "police_floating"))
    good = _write_csv(landing / "police" / "police_floating_20261130.csv", f_header, f_rows[:-1])
    held_run = run_job(landing, layout.root)
    current_after_held = read_current(layout)
    from siheyuan.report import write_report

    held_page = write_report(layout, run_id=held_run.run_id).read_text(encoding="utf-8")
    _write_csv(bad, header, rows[:-1])  # the department's corrected file, same name

    kept = rows[: int(len(rows) * 0.4)]
    drop = _write_csv(landing / "police" / "police_hukou_20261201.csv", header, kept)
    dropped = run_job(landing, layout.root)
    current_after_drop = read_current(layout)
    override = accept_batch(layout, drop.name, "row_count_change", "王工", "district split: real")

    # 2 % unusable rows in the next hukou snapshot: no key, no name, a shifted row
    unusable = {}
    key, name, former = (header.index(c) for c in ("人员编号", "姓名", "曾用名"))
    step = len(rows) // max(1, round(len(rows) * 0.02))
    for i, k in enumerate(range(3, len(rows), step)):
        row = rows[k]
        if i % 3 == 0:
            row[key] = ""
            unusable[k + 2] = "missing_source_key"
        elif i % 3 == 1:
            row[name] = ""
            unusable[k + 2] = "missing_required"
        else:  # a field lost and one added at the end: every value after it sits one column left
            rows[k] = row[:former] + row[former + 1 :] + [""]
            unusable[k + 2] = "garbled_row"
    # sensitive values in non-sensitive columns: one misfit each, so the rows are kept
    sex, status = header.index("性别"), header.index("人员状态")
    rows[0][sex] = SENSITIVE_ID
    rows[1][status] = SENSITIVE_PHONE
    rows[2][sex] = SENSITIVE_CONDITION
    broken = _write_csv(landing / "police" / "police_hukou_20261202.csv", header, rows)

    bom = breakage.add_bom(
        _src(landing, "police_floating"), landing / "police" / "police_floating_20261202.csv"
    )
    health = _src(landing, "health_records")
    lines = health.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4][: len(lines[4]) // 2] + "\n"  # one line cut: not valid JSON
    jsonl = landing / "health" / "health_records_20261202.jsonl"
    jsonl.write_text("".join(lines), encoding="utf-8")
    replay = landing / "hr" / f"hr_insured_{DATE}_02.csv"
    shutil.copy(_src(landing, "hr_insured"), replay)

    report = run_job(landing, layout.root)
    return {
        "landing": landing,
        "held_run": held_run,
        "current_after_held": current_after_held,
        "held_page": held_page,
        "bad": bad,
        "good": good,
        "dropped": dropped,
        "current_after_drop": current_after_drop,
        "override": override,
        "drop": drop,
        "broken": broken,
        "unusable": unusable,
        "bom": bom,
        "jsonl": jsonl,
        "replay": replay,
        "report": report,
    }


def _batch(layout: WarehouseLayout, file_name: str) -> dict:
    names = ("status", "rows_received", "rows_accepted", "rows_quarantined", "rows_duplicate")
    rows = _query(
        layout,
        f"SELECT {', '.join(names)} FROM meta.batch WHERE file_name = ? ORDER BY recorded_at",
        [file_name],
    )
    return dict(zip(names, rows[-1], strict=True))


def test_volume_drop_of_sixty_percent_is_rejected_then_accepted_by_override(
    layout, accepted
) -> None:
    dropped, drop = accepted["dropped"], accepted["drop"]
    assert dropped.status == "rejected" and dropped.exit_code == 1
    assert drop.name in dropped.message and "row_count_change" in dropped.message
    assert "\n" not in dropped.message
    assert accepted["current_after_drop"] == "v000001"
    report = accepted["report"]
    assert report.status == "published", report.message
    assert _batch(layout, drop.name)["status"] == "applied"
    rows = _query(
        layout,
        "SELECT passed, overridden, detail FROM meta.check_result WHERE file_name = ? "
        "AND check_name = 'row_count_change' ORDER BY recorded_at",
        [drop.name],
    )
    assert rows[0][:2] == (False, False) and rows[-1][:2] == (False, True)
    assert "王工" in rows[-1][2] and "district split" in rows[-1][2]
    overrides = _query(layout, "SELECT accepted_by, reason, file_sha256 FROM meta.override")
    assert overrides == [("王工", "district split: real", accepted["override"].file_sha256)]


def test_two_percent_unusable_rows_are_quarantined_exactly_and_the_rest_accepted(
    layout, accepted
) -> None:
    broken = accepted["broken"]
    quarantined = dict(
        _query(
            layout,
            "SELECT row_number, reason_code FROM meta.quarantine WHERE file_name = ?",
            [broken.name],
        )
    )
    baseline = dict(
        _query(
            layout,
            "SELECT row_number, reason_code FROM meta.quarantine WHERE file_name = ?",
            [f"police_hukou_{DATE}.csv"],
        )
    )
    assert quarantined == {**baseline, **accepted["unusable"]}
    batch = _batch(layout, broken.name)
    assert batch["status"] == "applied"
    assert batch["rows_quarantined"] == len(quarantined)
    assert (
        batch["rows_accepted"]
        == batch["rows_received"] - len(quarantined) - batch["rows_duplicate"]
    )
    reasons = _query(
        layout,
        "SELECT reason FROM meta.quarantine WHERE file_name = ? AND reason_code = 'garbled_row'",
        [broken.name],
    )
    assert reasons and all("shifted or cut" in r for (r,) in reasons)
    _assert_ledger_balanced(layout)


def test_utf8_bom_is_accepted(layout, accepted) -> None:
    batch = _batch(layout, accepted["bom"].name)
    original = _batch(layout, f"police_floating_{DATE}.csv")
    assert batch["status"] == "applied"
    assert batch["rows_accepted"] == original["rows_accepted"]


def test_one_malformed_json_line_is_quarantined(layout, accepted) -> None:
    jsonl = accepted["jsonl"]
    rows = _query(
        layout,
        "SELECT row_number, reason_code FROM meta.quarantine WHERE file_name = ?",
        [jsonl.name],
    )
    assert rows == [(5, "malformed_json")]
    batch = _batch(layout, jsonl.name)
    assert batch["status"] == "applied" and batch["rows_quarantined"] == 1


def test_a_replay_under_a_new_name_is_a_counted_no_op_and_its_own_name_is_never_planned(
    layout, accepted
) -> None:
    """Under a new name the ingest records a duplicate; under its own name (an applied file
    landed again) ``runner.plan`` never hands it to the ingest — the ingest's own handling of
    that path is pinned in tests/test_ingest.py."""
    replay = accepted["replay"]
    original = _batch(layout, f"hr_insured_{DATE}.csv")
    assert _batch(layout, replay.name) == {
        "status": "duplicate",
        "rows_received": original["rows_received"],  # not re-read: the applied content's rows
        "rows_accepted": 0,
        "rows_quarantined": 0,
        "rows_duplicate": original["rows_received"],
    }
    raw = _query(
        layout, 'SELECT count(*) FROM raw."hr_insured" WHERE _file_name = ?', [replay.name]
    )
    assert raw == [(0,)]
    planned = {f.file_name for f in plan(accepted["landing"], layout).new}
    assert replay.name not in planned and f"hr_insured_{DATE}.csv" not in planned
    current = read_current(layout)
    again = run_job(accepted["landing"], layout.root)
    assert again.status == "nothing_new" and again.exit_code == 0
    assert read_current(layout) == current
    _assert_ledger_balanced(layout)


def test_a_rejected_run_holds_back_the_good_files_and_the_next_run_applies_them(
    layout, accepted
) -> None:
    held_run, bad, good = accepted["held_run"], accepted["bad"], accepted["good"]
    assert held_run.status == "rejected" and bad.name in (held_run.message or "")
    assert accepted["current_after_held"] == "v000001"  # nothing published
    assert [(h["file_name"], h["reason"]) for h in held_run.held] == [
        (good.name, f"not applied: the run was rejected because of {bad.name}")
    ]
    recorded = _query(
        layout, "SELECT file_name, because_of FROM meta.held WHERE run_id = ?", [held_run.run_id]
    )
    assert recorded == [(good.name, bad.name)]
    # no outcome in the registry for that run (the status values stay applied/rejected/duplicate)
    assert _query(
        layout, "SELECT file_name FROM meta.batch WHERE run_id = ?", [held_run.run_id]
    ) == [(bad.name,)]
    page = accepted["held_page"]
    assert "Held back" in page and good.name in page and "because of" in page
    # the fixed file and the held one were applied by the next run that was not rejected
    assert accepted["report"].status == "published"
    assert _batch(layout, good.name)["status"] == "applied"
    assert _batch(layout, bad.name)["status"] == "applied"
    from siheyuan.report import ledger_json

    held = ledger_json(layout, held_run.run_id)["held"]
    assert [(h["file"], h["later_status"]) for h in held] == [(good.name, "applied")]
    from siheyuan.cli import _print_run, console

    with console.capture() as captured:
        _print_run(held_run, 0.0)
    assert f"held back {good.name}" in captured.get()


# --- what every case leaves behind --------------------------------------------------------------


def test_reasons_and_check_results_never_hold_an_id_number_or_phone(layout, accepted) -> None:
    texts = _query(layout, "SELECT reason FROM meta.batch WHERE reason IS NOT NULL")
    texts += _query(layout, "SELECT reason FROM meta.quarantine")
    texts += _query(
        layout,
        "SELECT concat_ws(' ', observed, threshold, detail) FROM meta.check_result",
    )
    assert texts
    found = [t for (t,) in texts if ids_or_phones(t or "")]
    assert not found, found[:3]


def test_no_stored_gx_artefact_or_meta_table_holds_a_sensitive_value(layout, accepted) -> None:
    """A sensitive value in a non-sensitive column (kept: one misfit) never reaches GX's files."""
    kept = _query(
        layout,
        'SELECT count(*) FROM raw."police_hukou" WHERE _file_name = ? AND '
        "(性别 IN (?, ?) OR 人员状态 = ?)",
        [accepted["broken"].name, SENSITIVE_ID, SENSITIVE_CONDITION, SENSITIVE_PHONE],
    )
    assert kept == [(3,)]  # the rows were accepted, so their values went through the suite
    gx_root = layout.root / "reports" / "gx"
    files = [p for p in gx_root.rglob("*") if p.suffix in (".json", ".html")]
    assert any("validations" in p.parts and p.suffix == ".json" for p in files)
    assert any("validations" in p.parts and p.suffix == ".html" for p in files)
    found = {str(p): leaks(p.read_text(encoding="utf-8")) for p in files}
    assert not {p: v for p, v in found.items() if v}
    with duckdb.connect(str(layout.database), read_only=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'meta'"
        ).fetchall()
        for (table,) in tables:
            for row in conn.execute(f'SELECT * FROM meta."{table}"').fetchall():
                text = " ".join(str(v) for v in row if isinstance(v, str))
                assert not leaks(text), (table, leaks(text))


def test_gx_data_docs_are_built_offline_in_the_warehouse(layout, accepted) -> None:
    from siheyuan.quality import data_docs_index

    index = data_docs_index(layout)
    assert index is not None and index.is_relative_to(layout.root)
    validations = list(index.parent.glob("validations/**/*.html"))
    assert validations


def test_published_id_numbers_stay_valid_or_null(layout, accepted) -> None:
    from test_pipeline_e2e import _tables, _valid_id  # the e2e suite's readers of a version

    ids = _tables(layout)["resident"].column("id_number").to_pylist()
    assert any(v is not None for v in ids)
    assert all(v is None or _valid_id(v) for v in ids)
    with duckdb.connect(str(layout.database), read_only=True) as conn:
        raw = conn.execute('SELECT "公民身份号码" FROM raw."police_hukou"').fetchall()
    assert any(v and not _valid_id(v) for (v,) in raw)  # invalid values arrived, kept raw
