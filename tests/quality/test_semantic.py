"""The semantic layer: snapshot row-count rules, and GX's files as a bounded, offline view."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from siheyuan.contracts import load_contracts
from siheyuan.quality.config import (
    ROW_COUNT_CHANGE,
    ROW_COUNT_DROP,
    check_definitions,
    load_settings,
)
from siheyuan.quality.semantic import batch_frame, build_data_docs, prune_validations, validate
from siheyuan.readers import RawRow

DATASET = "police_floating"


def _rows(count: int) -> list[RawRow]:
    contract = load_contracts()[DATASET]
    base = dict.fromkeys(contract.column_names)
    return [
        RawRow(
            n,
            base
            | {
                "登记编号": f"LD{n:06d}",
                "姓名": "张伟",
                "性别": "男",
                "出生日期": "1990-01-01",
                "登记日期": "2026-01-01",
                "居住事由": "务工",
            },
        )
        for n in range(1, count + 1)
    ]


def _stored_runs(root: Path, *parts: str) -> list[str]:
    folder = root.joinpath("gx", "uncommitted", *parts, DATASET)
    return sorted(p.name for p in folder.glob("*/*") if p.is_dir())


def _row_checks(rows: int, previous: int) -> dict[str, tuple[bool, bool]]:
    """(passed, blocking) of the two row-count checks for a snapshot of ``rows`` rows."""
    contract = load_contracts()[DATASET]
    settings = load_settings(DATASET)
    frame = batch_frame(contract, settings, _rows(rows), date(2026, 11, 1))
    results = validate(contract, settings, frame, previous, None)
    return {
        r.check_name: (r.passed, r.blocking)
        for r in results
        if r.check_name in (ROW_COUNT_CHANGE, ROW_COUNT_DROP)
    }


def test_a_moderate_snapshot_drop_is_reported_and_a_large_one_blocks() -> None:
    settings = load_settings(DATASET).batch
    assert settings.warn_row_drop_share is not None and settings.max_row_drop_share is not None
    # 30 of 40 rows: beyond the reported drop (20 %), within the blocking one (50 %)
    assert _row_checks(30, 40) == {ROW_COUNT_DROP: (False, False), ROW_COUNT_CHANGE: (True, True)}
    assert _row_checks(38, 40) == {ROW_COUNT_DROP: (True, False), ROW_COUNT_CHANGE: (True, True)}
    assert _row_checks(15, 40) == {ROW_COUNT_DROP: (False, False), ROW_COUNT_CHANGE: (False, True)}
    # the first snapshot has nothing to compare with
    assert _row_checks(15, 0) == {}


def test_the_reported_drop_is_declared_as_a_non_blocking_check() -> None:
    declared = {d.name: d for d in check_definitions(load_contracts()[DATASET])}
    assert not declared[ROW_COUNT_DROP].blocking and not declared[ROW_COUNT_DROP].overridable
    assert declared[ROW_COUNT_CHANGE].blocking
    assert ROW_COUNT_DROP not in {d.name for d in check_definitions(load_contracts()["hr_insured"])}


def test_old_validation_results_and_their_pages_are_pruned(tmp_path: Path) -> None:
    contract = load_contracts()[DATASET]
    settings = load_settings(DATASET)
    frame = batch_frame(contract, settings, _rows(5), date(2026, 11, 1))
    for _ in range(4):
        validate(contract, settings, frame, None, tmp_path)
    build_data_docs(tmp_path)
    runs = _stored_runs(tmp_path, "validations")
    assert len(runs) == 4
    assert _stored_runs(tmp_path, "data_docs", "local_site", "validations") == runs

    index = build_data_docs(tmp_path, keep=2)

    assert _stored_runs(tmp_path, "validations") == runs[2:]  # the newest two
    assert _stored_runs(tmp_path, "data_docs", "local_site", "validations") == runs[2:]
    assert index is not None
    html = index.read_text(encoding="utf-8")
    assert runs[3] in html and runs[0] not in html


def test_pruning_without_any_results_is_a_no_op(tmp_path: Path) -> None:
    assert prune_validations(tmp_path, 1) == []


def test_derived_columns_by_column_equal_the_row_by_row_rule() -> None:
    """derive_column gives _derive's answer for every value of every rule, repeats included."""
    from siheyuan.quality.config import DerivedColumn
    from siheyuan.quality.semantic import _derive, derive_column

    values = [
        None,
        "",
        "  ",
        "1990-01-01",
        "1990-02-30",
        "1879-12-31",
        "2026-11-02",
        "1990-01-01",
        "110105194912310021",
        "11010519491231002X",
        "110105194912310022",
        " 1990-01-01 ",
    ]
    formats = ("%Y-%m-%d",)
    for rule in ("present", "date_plausible", "id_number_valid"):
        spec = DerivedColumn(rule=rule, source="x")
        expected = [_derive(spec, v, date(2026, 11, 1), formats) for v in values]
        assert derive_column(spec, values, date(2026, 11, 1), formats) == expected, rule


def test_the_frame_holds_only_what_the_suite_reads_and_no_sensitive_value() -> None:
    from siheyuan.quality.semantic import SOURCE_KEY, suite_columns

    contract = load_contracts()[DATASET]
    settings = load_settings(DATASET)
    frame = batch_frame(contract, settings, _rows(3), date(2026, 11, 1))
    assert set(frame.columns) == (suite_columns(settings) - set(contract.sensitive_columns)) | {
        SOURCE_KEY,
        *settings.derived,
    }
    assert not set(frame.columns) & set(contract.sensitive_columns)
    assert "登记日期" not in frame.columns  # delivered, but no expectation reads it
