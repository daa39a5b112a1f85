"""A database source contract: validated strictly, and seen by Dagster as an asset with its
schedule beside the file sources."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from siheyuan import contracts
from siheyuan.contracts import SOURCES_ENV, SourceContract, load_contracts
from siheyuan.db_sources import Watermark, _low_bound, build_query, cell_text, masked_url
from siheyuan.landing import discover

from db.helpers import HR_COLUMNS, db_contract, write_sources

HR_DB: dict[str, Any] = {
    "url_env": "SIHEYUAN_HR_DB_URL",
    "table": "hr.insured_changes",
    "columns": HR_COLUMNS,
    "watermark": {"column": "change_date", "overlap": "P7D"},
}


def test_a_delta_source_needs_a_watermark_and_a_snapshot_has_none() -> None:
    with pytest.raises(ValidationError, match="needs a watermark"):
        db_contract("hr_insured", {**HR_DB, "watermark": None})
    with pytest.raises(ValidationError, match="no watermark"):
        db_contract(
            "police_hukou", {"url_env": "X_URL", "table": "t", "watermark": HR_DB["watermark"]}
        )


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ({"table": "t", "query": "SELECT 1"}, "exactly one of table or query"),
        ({"table": None}, "exactly one of table or query"),
        ({"table": "t; DROP TABLE x"}, "is not a"),
        ({"table": None, "query": "DELETE FROM t"}, "one SELECT"),
        ({"table": None, "query": "SELECT 1; DROP TABLE t"}, "one SELECT"),
        (
            {"table": None, "query": "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"},
            "only read",
        ),
        ({"url_env": "postgresql://u:p@h/db"}, "url_env"),
        ({"columns": {"不存在": "x"}}, "undeclared column"),
        ({"columns": {**HR_COLUMNS, "姓名": "personal_no"}}, "two columns to one"),
        ({"schedule": "hourly"}, "cron"),
        ({"password": "x"}, "Extra inputs"),
    ],
)
def test_nonsense_is_refused(database: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        db_contract("hr_insured", {**HR_DB, **database})


def test_a_contract_declares_file_or_database_not_both() -> None:
    (path,) = contracts.contracts_dir().glob("*/hr_insured.yml")
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    with pytest.raises(ValidationError, match="exactly one of file or database"):
        SourceContract.model_validate({**data, "database": HR_DB})


def test_the_query_wraps_the_source_and_orders_it() -> None:
    contract = db_contract("hr_insured", HR_DB)
    quote = lambda name: f'"{name}"'  # noqa: E731
    sql, params = build_query(contract, quote, None)
    assert sql == 'SELECT * FROM "hr"."insured_changes" ORDER BY "change_date", "personal_no"'
    assert params == {}
    sql, params = build_query(contract, quote, Watermark("date", "2026-09-03"))
    assert 'WHERE "change_date" >= :low' in sql and params == {"low": date(2026, 9, 3)}


def test_the_window_moves_the_mark_back_by_the_overlap() -> None:
    contract = db_contract("hr_insured", HR_DB)
    assert _low_bound(contract, Watermark("date", "2026-09-10")) == Watermark("date", "2026-09-03")
    # text in the mapped column's declared format (变更日期: %Y%m%d) is moved as a date
    assert _low_bound(contract, Watermark("text", "20260910")) == Watermark("text", "20260903")
    hourly = db_contract("hr_insured", {**HR_DB, "watermark": {"column": "t", "overlap": "PT2H"}})
    assert _low_bound(hourly, Watermark("datetime", "2026-09-10T01:00:00")) == Watermark(
        "datetime", "2026-09-09T23:00:00"
    )
    # a change counter cannot be moved back by a duration: the mark itself (>=)
    assert _low_bound(contract, Watermark("number", "42")) == Watermark("number", "42")


def test_typed_values_become_the_text_the_extract_spec_declares() -> None:
    hr = db_contract("hr_insured", HR_DB)
    col = {c.name: c for c in hr.columns}
    assert cell_text(date(2026, 9, 1), col["变更日期"]) == "20260901"
    assert cell_text(datetime(1985, 3, 1), col["出生年月"]) == "198503"
    assert cell_text("", col["姓名"]) is None
    assert cell_text(" 张伟 ", col["姓名"]) == " 张伟 "  # text stays as stored
    assert cell_text(13800138000, col["联系电话"]) == "13800138000"
    health = load_contracts()["health_records"]
    hcol = {c.name: c for c in health.columns}
    assert cell_text(["高血压", "糖尿病"], hcol["chronic"]) == '["高血压", "糖尿病"]'
    assert cell_text(datetime(2026, 9, 1, 8, 30), hcol["updated_at"]) == "2026-09-01T08:30:00"


def test_a_url_is_shown_without_its_password() -> None:
    shown = masked_url("postgresql+psycopg://reader:pa%40ss@db.example:5432/hr")
    assert shown == "postgresql+psycopg://reader:***@db.example:5432/hr"
    assert "pa" not in shown.split("@")[0].split(":")[-1]


def test_dagster_shows_the_database_source_with_its_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from siheyuan.definitions import build_definitions
    from siheyuan.defs.ingest_assets import PULL_TAG, pulls_in_run

    sources = write_sources(
        tmp_path / "sources", {"hr_insured": {**HR_DB, "schedule": "0 * * * *"}}
    )
    monkeypatch.setenv(SOURCES_ENV, str(sources))
    assert load_contracts()["hr_insured"].is_database
    # a file named like the dataset's old deliveries is no batch of a database source
    landed = tmp_path / "landing" / "hr" / "hr_insured_20261001.csv"
    landed.parent.mkdir(parents=True)
    landed.write_text("x\n", encoding="utf-8")
    files, unknown = discover(tmp_path / "landing", load_contracts())
    assert files == [] and [u.path for u in unknown] == [landed]

    defs = build_definitions(warehouse=str(tmp_path / "wh"), landing=str(tmp_path / "landing"))
    (schedule,) = defs.schedules
    assert (schedule.name, schedule.cron_schedule, schedule.execution_timezone) == (
        "pull_hr_insured",
        "0 * * * *",
        "Asia/Shanghai",
    )
    assert schedule.tags[PULL_TAG] == "hr_insured"
    graph = defs.resolve_asset_graph()
    hr = graph.get(next(k for k in graph.get_all_asset_keys() if k.path == ["raw", "hr_insured"]))
    police = graph.get(next(k for k in graph.get_all_asset_keys() if k.path[-1] == "police_hukou"))
    assert hr.metadata["source"] == "database" and hr.metadata["url_env"] == "SIHEYUAN_HR_DB_URL"
    assert police.metadata["source"] == "landing folder"
    assert pulls_in_run({}, "hr_insured")
    assert not pulls_in_run({PULL_TAG: ""}, "hr_insured")
    assert pulls_in_run({PULL_TAG: "health_records,hr_insured"}, "hr_insured")
