"""The sample-data generator: formats per contract, determinism, truth, dirt and round 2."""

from __future__ import annotations

import filecmp
import json
from collections import Counter
from pathlib import Path

import pytest
from siheyuan.generate import GenerateSummary, generate_sample
from siheyuan.generate.config import dirt_config
from siheyuan.generate.idcard import is_valid

from .helpers import contract, read_csv, read_rows, source_key

ROUND1_FILES = {
    "police/police_hukou_20261001.csv",
    "police/police_floating_20261001.csv",
    "civil_affairs/civil_assistance_20261001.xlsx",
    "health/health_records_20261001.jsonl",
    "hr/hr_insured_20261001.csv",
}


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a = generate_sample(persons=300, seed=5, out=tmp_path / "a", round_no=1)
    b = generate_sample(persons=300, seed=5, out=tmp_path / "b", round_no=1)
    assert _tree(a.out) == _tree(b.out)
    c = generate_sample(persons=300, seed=6, out=tmp_path / "c", round_no=1)
    assert _tree(c.out) != _tree(a.out)


def test_round_2_does_not_depend_on_round_1_having_run(tmp_path: Path, rounds) -> None:
    out, _ = rounds
    alone = generate_sample(persons=5000, seed=9, out=tmp_path / "alone", round_no=2)
    for f in alone.files:
        rel = f.path.relative_to(alone.landing_dir)
        assert filecmp.cmp(f.path, out / "landing" / rel, shallow=False), rel


def test_file_names_and_summary(small_run: GenerateSummary) -> None:
    landing = small_run.landing_dir
    found = {str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file()}
    assert found == ROUND1_FILES
    assert {r[0] for r in small_run.rows()} == ROUND1_FILES
    for rel, dataset, rows in small_run.rows():
        assert rel.split("/")[1].startswith(dataset)
        assert rows > 0
    assert small_run.elapsed_seconds > 0


@pytest.mark.parametrize(
    "dataset",
    ["police_hukou", "police_floating", "civil_assistance", "health_records", "hr_insured"],
)
def test_columns_and_encoding_follow_the_contract(small_run: GenerateSummary, dataset: str) -> None:
    c = contract(dataset)
    (path,) = [f.path for f in small_run.files if f.dataset == dataset]
    assert path.parent.name == c["department"]
    assert path.suffix == "." + c["file"]["extension"]
    header, rows = read_rows(path)
    assert header == [col["name"] for col in c["columns"]]
    if c["file"]["format"] == "csv":
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        raw.decode(c["file"]["encoding"])
        if c["file"]["encoding"] == "gb18030":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            first = raw.decode("gb18030").splitlines()[1]
            assert first.startswith('"') and first.endswith('"')
    if c["file"]["format"] == "jsonl":
        for line in path.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            assert list(obj) == header
            assert isinstance(obj["chronic"], list)
            assert obj["op"] == "I"
    if dataset == "hr_insured":
        assert {r["变更类型"] for r in rows if r["个人编号"]} == {"新增"}


def test_truth_is_never_inside_landing(small_run: GenerateSummary) -> None:
    assert small_run.truth_dir == small_run.out / "truth" / "round_1"
    assert not small_run.truth_dir.is_relative_to(small_run.landing_dir)
    assert {p.name for p in small_run.landing_dir.iterdir()} == {
        "police",
        "civil_affairs",
        "health",
        "hr",
    }
    names = {p.name for p in small_run.truth_dir.iterdir()}
    assert {
        "records.csv",
        "persons.csv",
        "households.csv",
        "buildings.csv",
        "dirt.csv",
        "manifest.json",
    } <= names


def test_clean_ids_are_valid_and_match_the_truth(dirt_run: GenerateSummary) -> None:
    truth = dirt_run.truth_dir
    persons = read_csv(truth / "persons.csv")
    assert persons and all(is_valid(p["id_number"]) for p in persons)
    males = [p for p in persons if p["sex_code"] == "1"]
    assert all(int(p["id_number"][16]) % 2 == 1 for p in males)
    records = {(r["dataset"], r["source_key"]): r for r in read_csv(truth / "records.csv")}
    dirty = {(d["dataset"], d["source_key"], d["column"]) for d in read_csv(truth / "dirt.csv")}
    id_cols = {
        "police_hukou": "公民身份号码",
        "police_floating": "证件号码",
        "civil_assistance": "身份证号",
        "health_records": "id_no",
        "hr_insured": "社会保障号码",
    }
    checked = 0
    for f in dirt_run.files:
        _, rows = read_rows(f.path)
        col = id_cols[f.dataset]
        for row in rows:
            key = source_key(f.dataset, row)
            if not key or (f.dataset, key, col) in dirty or not row.get(col):
                continue
            assert row[col] == records[f.dataset, key]["true_id_number"], (f.dataset, key)
            checked += 1
    assert checked > 4000


def test_every_record_has_truth(dirt_run: GenerateSummary) -> None:
    records = read_csv(dirt_run.truth_dir / "records.csv")
    keys = {(r["dataset"], r["source_key"]) for r in records}
    persons = {p["person_id"] for p in read_csv(dirt_run.truth_dir / "persons.csv")}
    buildings = {b["building_truth_id"] for b in read_csv(dirt_run.truth_dir / "buildings.csv")}
    assert all(r["person_id"] in persons and r["building_truth_id"] in buildings for r in records)
    for f in dirt_run.files:
        _, rows = read_rows(f.path)
        for row in rows:
            key = source_key(f.dataset, row)
            if key:
                assert (f.dataset, key) in keys


def test_every_dirt_kind_is_present(dirt_run: GenerateSummary) -> None:
    log = read_csv(dirt_run.truth_dir / "dirt.csv")
    kinds = Counter(d["dirt_kind"] for d in log)
    expected = set(dirt_config()["kinds"]) | {"id_15_digit", "duplicate_registration"}
    assert expected <= set(kinds), expected - set(kinds)
    manifest = json.loads((dirt_run.truth_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 42 and manifest["persons"] == 2000
    assert sum(manifest["files"].values()) == sum(f.rows for f in dirt_run.files)


def test_dirt_log_matches_the_files(dirt_run: GenerateSummary) -> None:
    by_key: dict[tuple[str, str], list[dict]] = {}
    empties: Counter[str] = Counter()
    for f in dirt_run.files:
        for row in read_rows(f.path)[1]:
            key = source_key(f.dataset, row)
            if key:
                by_key.setdefault((f.path.name, key), []).append(row)
            elif all(v in ("", None) for v in row.values()):
                empties[f.path.name] += 1
    logged_empty: Counter[str] = Counter()
    for d in read_csv(dirt_run.truth_dir / "dirt.csv"):
        rows = by_key.get((d["file_name"], d["source_key"]), [])
        kind = d["dirt_kind"]
        if kind == "empty_row":
            logged_empty[d["file_name"]] += 1
        elif kind == "duplicate_row":
            assert len(rows) >= 2 and rows[0] == rows[1]
        elif kind == "id_excel_numeric":
            assert isinstance(rows[0]["身份证号"], float)
            assert format(rows[0]["身份证号"], ".15G").endswith("E+17")
        elif kind == "id_15_digit":
            assert len(rows[0]["公民身份号码"]) == 15
        elif kind == "id_lower_x":
            assert rows[0][d["column"]].strip().endswith(("x", "ｘ"))
        elif kind == "phone_format":
            assert not rows[0][d["column"]].isdigit()
    assert logged_empty == empties


def test_round_2_changes(rounds) -> None:
    _, (_, r2, r3) = rounds
    assert r2.extract_date == "2026-11-01" and r3.extract_date == "2026-12-01"
    names = {f.path.name for f in r2.files}
    assert {"hr_insured_20261101_01.csv", "hr_insured_20261101_02.csv"} <= names
    changes = read_csv(r2.truth_dir / "changes.csv")
    kinds = Counter(c["change_kind"] for c in changes)
    for kind in (
        "died",
        "moved",
        "born",
        "moved_out",
        "floating_arrived",
        "floating_departed",
        "corrected",
    ):
        assert kinds[kind] > 0, kind
    # the two hr files of one day: _02 holds later changes, some to the same persons
    hr = {f.path.name: read_rows(f.path)[1] for f in r2.files if f.dataset == "hr_insured"}
    first = hr["hr_insured_20261101_01.csv"]
    second = hr["hr_insured_20261101_02.csv"]
    keys1 = {r["个人编号"] for r in first if r["个人编号"]}
    keys2 = {r["个人编号"] for r in second if r["个人编号"]}
    assert keys1 & keys2
    assert max(r["变更日期"] for r in first if r["个人编号"]) <= min(
        r["变更日期"] for r in second if r["个人编号"]
    )


def test_snapshots_are_full_lists_and_deltas_only_changes(rounds) -> None:
    _, (r1, r2, r3) = rounds

    def rows(summary: GenerateSummary, dataset: str) -> list[dict]:
        out = []
        for f in summary.files:
            if f.dataset == dataset:
                out += [r for r in read_rows(f.path)[1] if source_key(dataset, r)]
        return out

    h1, h2, h3 = (rows(s, "police_hukou") for s in (r1, r2, r3))
    assert len(h2) > 0.97 * len(h1)
    keys1 = {r["人员编号"] for r in h1 if r["人员状态"] == "正常"}
    keys2 = {r["人员编号"] for r in h2}
    ended2 = {r["人员编号"] for r in h2 if r["人员状态"] in ("死亡", "迁出")}
    assert ended2 and ended2 <= keys1
    assert all(r["注销日期"] for r in h2 if r["人员编号"] in ended2)
    assert not ended2 & {r["人员编号"] for r in h3}  # gone from the next snapshot
    assert len(keys1 - keys2) == 0
    health1, health2 = rows(r1, "health_records"), rows(r2, "health_records")
    assert len(health2) < 0.1 * len(health1)
    assert {r["op"] for r in health2} <= {"I", "U", "D"} and "U" in {r["op"] for r in health2}
    born = [r for r in health2 if r["op"] == "I" and r["id_type"] == "99"]
    assert born and all(r["id_no"] is None and r["guardian_id_no"] for r in born)
    assert any(r["death_date"] for r in health2 if r["op"] == "U")
    hr2 = rows(r2, "hr_insured")
    assert {r["变更类型"] for r in hr2} <= {"新增", "变更", "注销"}
    assert len(hr2) < 0.1 * len(rows(r1, "hr_insured"))


def test_truth_ids_are_stable_across_rounds(rounds) -> None:
    _, (r1, r2, _r3) = rounds
    p1 = {p["person_id"]: p for p in read_csv(r1.truth_dir / "persons.csv")}
    p2 = {p["person_id"]: p for p in read_csv(r2.truth_dir / "persons.csv")}
    assert set(p1) <= set(p2)
    assert all(p2[k]["id_number"] == v["id_number"] for k, v in p1.items())
    statuses = Counter(p["status"] for p in p2.values())
    assert statuses["active"] and statuses["deceased"] and statuses["departed"]
    b1 = read_csv(r1.truth_dir / "buildings.csv")
    assert b1 == read_csv(r2.truth_dir / "buildings.csv")
