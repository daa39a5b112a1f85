"""The landing sensor launches a run when files change, and only then."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from siheyuan.definitions import defs


@pytest.fixture
def sensor() -> dg.SensorDefinition:
    return defs.resolve_sensor_def("landing_sensor")


def test_sensor_runs_once_the_landing_folder_has_changed_and_settled(
    sensor: dg.SensorDefinition, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    monkeypatch.setenv("SIHEYUAN_LANDING", str(landing))
    empty = sensor(dg.build_sensor_context(cursor=None))
    assert not empty.run_requests
    (landing / "police").mkdir(parents=True)
    (landing / "police" / "police_hukou_20261001.csv").write_text("x", encoding="utf-8")
    seen = sensor(dg.build_sensor_context(cursor=None))
    assert not seen.run_requests  # a file may still be arriving: wait one tick
    first = sensor(dg.build_sensor_context(cursor=seen.cursor))
    assert len(first.run_requests) == 1
    again = sensor(dg.build_sensor_context(cursor=first.cursor))
    assert not again.run_requests
    (landing / "police" / "police_hukou_20261101.csv").write_text("y", encoding="utf-8")
    growing = sensor(dg.build_sensor_context(cursor=first.cursor))
    assert not growing.run_requests
    (landing / "police" / "police_hukou_20261101.csv").write_text("yy", encoding="utf-8")
    still_growing = sensor(dg.build_sensor_context(cursor=growing.cursor))
    assert not still_growing.run_requests
    settled = sensor(dg.build_sensor_context(cursor=still_growing.cursor))
    assert len(settled.run_requests) == 1


def test_one_graph_from_ingest_through_dbt_to_publish() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        f"raw/{d}"
        for d in (
            "police_hukou",
            "police_floating",
            "civil_assistance",
            "health_records",
            "hr_insured",
        )
    } <= keys
    assert {"staging/stg_police__hukou", "marts/resident", "published_version"} <= keys
    upstream = graph.get(dg.AssetKey("published_version")).parent_keys
    assert dg.AssetKey(["marts", "resident_source_xref"]) in upstream
