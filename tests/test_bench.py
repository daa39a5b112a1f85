"""siheyuan bench: stage mapping and window arithmetic (fast), and one real tiny bench (opt-in).

The real bench runs the whole job twice (about two minutes even at 300 persons), so it only runs
with ``RUN_BENCH=1``: benchmarks are not part of the default test run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from siheyuan.bench import (
    STAGES,
    RssSampler,
    RunTiming,
    calibrate_change_scale,
    dbt_stage,
    dbt_windows,
    file_changes,
    step_stage,
    union_seconds,
)
from siheyuan.cli_bench import bench


@pytest.mark.parametrize(
    ("unique_id", "stage"),
    [
        ("model.siheyuan.stg_police__hukou", "standardise"),
        ("model.siheyuan.int_std__names", "standardise"),
        ("model.siheyuan.int_addresses", "standardise"),
        ("model.siheyuan.int_person_records", "standardise"),
        ("model.siheyuan.int_person_link_features", "standardise"),
        ("model.siheyuan.int_person_pair_cache", "resolve"),
        ("model.siheyuan.int_person_match_pairs", "resolve"),
        ("model.siheyuan.int_person_clusters", "resolve"),
        ("model.siheyuan.int_resident_ids", "resolve"),
        ("model.siheyuan.int_resident_anchors", "resolve"),
        ("model.siheyuan.int_resident_links", "resolve"),
        ("model.siheyuan.int_resident_records", "golden"),
        ("model.siheyuan.resident", "golden"),
        ("test.siheyuan.unique_resident_resident_id.abc123", "checks"),
    ],
)
def test_dbt_nodes_map_to_stages(unique_id: str, stage: str) -> None:
    assert dbt_stage(unique_id) == stage


def test_steps_map_to_stages() -> None:
    assert step_stage("raw__police_hukou") == "ingest"
    assert step_stage("published_version") == "publish"
    assert step_stage("siheyuan_dbt_assets") is None


def test_overlapping_windows_count_once() -> None:
    assert union_seconds([(0.0, 2.0), (1.0, 3.0), (5.0, 6.0), (5.5, 5.7)]) == pytest.approx(4.0)
    assert union_seconds([]) == 0.0


def test_other_time_counts_the_dbt_op_whole() -> None:
    t = RunTiming("r", "published", 10, wall_seconds=100.0, peak_rss_bytes=1)
    t.stages = {st: {"wall_seconds": 0.0} for st in STAGES}
    t.stages["ingest"]["wall_seconds"] = 20.0
    t.stages["publish"]["wall_seconds"] = 10.0
    # two dbt threads: checks and golden overlap, their sum (70) exceeds the op (60)
    t.stages["checks"]["wall_seconds"] = 30.0
    t.stages["golden"]["wall_seconds"] = 40.0
    t.dbt_op_seconds = 60.0
    assert t.other_seconds == pytest.approx(10.0)


def test_dbt_windows_use_the_execute_phase() -> None:
    results = {
        "results": [
            {
                "unique_id": "model.siheyuan.resident",
                "timing": [
                    {
                        "name": "compile",
                        "started_at": "2026-01-01T00:00:00Z",
                        "completed_at": "2026-01-01T00:00:01Z",
                    },
                    {
                        "name": "execute",
                        "started_at": "2026-01-01T00:00:01Z",
                        "completed_at": "2026-01-01T00:00:04.5Z",
                    },
                ],
            },
            {"unique_id": "test.siheyuan.x", "timing": []},  # skipped: no execute phase
        ]
    }
    windows = dbt_windows(results)
    assert list(windows) == ["golden"]
    assert union_seconds(windows["golden"]) == pytest.approx(3.5)


def test_rss_sampler_sees_this_process() -> None:
    with RssSampler(interval=0.01) as sampler:
        blob = bytearray(50 * 2**20)  # 50 MB, touched so it is resident
        blob[::4096] = b"x" * len(blob[::4096])
    assert sampler.peak([(sampler.samples[0][0], sampler.samples[-1][0])]) > 50 * 2**20


def _csv(path: Path, *rows: str) -> SimpleNamespace:
    path.write_text("\n".join(["a,b", *rows]) + "\n", encoding="utf-8")
    return SimpleNamespace(path=path, dataset=path.stem.rsplit("_", 1)[0], rows=len(rows))


def test_file_changes_diff_snapshots_and_count_delta_rows(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    gen1 = SimpleNamespace(
        files=[_csv(tmp_path / "1" / "police_hukou_1.csv", "k1,x", "k2,y", "k3,z", "k3,z", ",")]
    )
    gen2 = SimpleNamespace(
        files=[
            # k2 changed, k3 gone, k4 new; a duplicate and an empty row are no change
            _csv(tmp_path / "2" / "police_hukou_2.csv", "k1,x", "k1,x", "k2,Y", "k4,w", ",,"),
            _csv(tmp_path / "2" / "hr_insured_2.csv", "d1,1", "d2,2"),
        ]
    )
    assert file_changes(gen1, gen2) == {"new_or_changed": 2 + 2, "gone": 2}


def test_calibration_finds_a_smaller_month(tmp_path: Path) -> None:
    scale, tried = calibrate_change_scale(0.01, 42, tmp_path, probe_persons=5000)
    assert tried[0]["scale"] == 1.0 and tried[0]["share"] > 0.02  # the usual month is bigger
    assert 0.05 < scale < 0.6
    best = min(tried, key=lambda t: abs(t["share"] - 0.01))
    assert best["scale"] == scale
    assert abs(best["share"] - 0.01) < 0.25 * 0.01


@pytest.mark.bench
@pytest.mark.skipif(os.environ.get("RUN_BENCH") != "1", reason="benchmark: set RUN_BENCH=1 to run")
def test_tiny_bench_reports_every_stage(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        bench,
        ["--persons", "300", "--dir", str(tmp_path / "b"), "--results", str(tmp_path / "r")],
    )
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "r").glob("300-42-*.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [r["status"] for r in data["runs"]] == ["published", "published"]
    for run in data["runs"]:
        assert run["source_rows"] > 0
        for stage in STAGES:
            figures = run["stages"][stage]
            assert figures["wall_seconds"] > 0, (run["label"], stage)
            assert figures["rows_per_second"] > 0, (run["label"], stage)
            assert figures["peak_rss_mb"] > 0, (run["label"], stage)
    assert data["bare_splink"]["wall_seconds"] > 0
    assert data["bare_splink"]["pairs"] > 0
    assert data["resolve_to_bare_ratio"] > 0
    assert data["resolve_with_link_features_to_bare_ratio"] > data["resolve_to_bare_ratio"]
    assert 0 < data["round_2_changed_share"] < 1
    assert data["round_2_target_share"] == 0.01
    assert 0 < data["round_2_change_scale"] < 1
    assert 0 < data["round_2_file_changed_share"] < 0.05
    assert "resolve" in result.output
    # round 1 scores everyone, round 2 only what changed
    first, second = (run["resolve"] for run in data["runs"])
    assert first["scoring_mode"] == "full" and first["changed_records"] == first["records"]
    assert second["scoring_mode"] == "incremental"
    assert 0 < second["changed_records"] < second["records"] // 4
    assert "int_person_pair_cache" in second["models"]
    assert "int_person_link_features" not in second["models"]
    assert second["link_features_seconds"] > 0
    assert "scoring incremental" in result.output
