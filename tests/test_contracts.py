"""The source contracts under sources/ load, agree with the extract spec, and reject nonsense."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from siheyuan.contracts import SourceContract, load_contract, load_contracts

SPEC_DATASETS = {
    # dataset: (department, format, encoding, kind, key columns)
    # from shared/specs/department-extracts.md
    "police_hukou": ("police", "csv", "utf-8", "snapshot", ("人员编号",)),
    "police_floating": ("police", "csv", "utf-8", "snapshot", ("登记编号",)),
    "civil_assistance": ("civil_affairs", "xlsx", None, "snapshot", ("家庭编号", "成员序号")),
    "health_records": ("health", "jsonl", "utf-8", "delta", ("archive_no",)),
    "hr_insured": ("hr", "csv", "gb18030", "delta", ("个人编号",)),
}


def test_every_spec_dataset_has_a_contract() -> None:
    contracts = load_contracts()
    assert set(contracts) == set(SPEC_DATASETS)
    for name, (dept, fmt, enc, kind, key) in SPEC_DATASETS.items():
        c = contracts[name]
        assert (c.department, c.file.format, c.file.encoding, c.kind, c.key.columns) == (
            dept,
            fmt,
            enc,
            kind,
            key,
        )


def test_civil_assistance_reads_its_named_sheet() -> None:
    assert load_contracts()["civil_assistance"].file.sheet == "救助对象"


def test_delta_operations_map_to_upsert_and_delete() -> None:
    contracts = load_contracts()
    health = contracts["health_records"].operation
    hr = contracts["hr_insured"].operation
    assert health is not None and hr is not None
    assert [health.normalise(v) for v in ("I", "U", "D", " D ", "X", None)] == [
        "upsert",
        "upsert",
        "delete",
        "delete",
        None,
        None,
    ]
    assert [hr.normalise(v) for v in ("新增", "变更", "注销")] == ["upsert", "upsert", "delete"]


def test_source_key_joins_parts_and_refuses_blanks() -> None:
    civil = load_contracts()["civil_assistance"]
    assert civil.source_key({"家庭编号": " F001 ", "成员序号": "2"}) == "F001-2"
    assert civil.source_key({"家庭编号": "F001", "成员序号": "  "}) is None
    # an integer key part is the number, however it was spelt (a text cell "01", a number 1)
    assert civil.source_key({"家庭编号": "F001", "成员序号": "02"}) == "F001-2"
    # a string key part keeps its zeros
    assert civil.source_key({"家庭编号": "0001", "成员序号": "2"}) == "0001-2"


def test_file_names_follow_the_landing_layout() -> None:
    rx = load_contracts()["hr_insured"].file_regex
    assert rx.match("hr_insured_20261101.csv")
    assert rx.match("hr_insured_20261101_02.csv")["seq"] == "02"
    assert not rx.match("hr_insured_2026110.csv")
    assert not rx.match("hr_insured_20261101.xlsx")


def _write(tmp_path: Path, department: str, data: dict) -> Path:
    path = tmp_path / department / f"{data['dataset']}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


BASE = {
    "dataset": "police_test",
    "department": "police",
    "title": "t",
    "file": {"format": "csv", "extension": "csv", "encoding": "utf-8"},
    "kind": "snapshot",
    "key": {"columns": ["编号"]},
    "columns": [{"name": "编号", "field": "record_no", "required": True}],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": {"columns": ["不存在"]}}, "key column"),
        ({"kind": "delta"}, "operation mapping"),
        ({"file": {"format": "xlsx", "extension": "xlsx"}}, "sheet"),
        ({"columns": [{"name": "编号", "field": "Bad Name"}]}, "field"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_contracts_are_refused_with_the_file_named(
    tmp_path: Path, change: dict, message: str
) -> None:
    path = _write(tmp_path, "police", {**BASE, **change})
    with pytest.raises(ValueError, match=r"police_test\.yml") as info:
        load_contract(path)
    assert message in str(info.value)


def test_contract_must_live_under_its_department(tmp_path: Path) -> None:
    path = _write(tmp_path, "health", BASE)
    with pytest.raises(ValueError, match=r"sources/police/police_test\.yml"):
        load_contract(path)


def test_valid_contract_loads(tmp_path: Path) -> None:
    contract = load_contract(_write(tmp_path, "police", BASE))
    assert isinstance(contract, SourceContract)
    assert contract.required_columns == ["编号"]
