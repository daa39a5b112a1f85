"""The generator's change scale: a smaller (or larger) month that is still a real month.

``siheyuan bench`` needs a round of changes of a chosen size; these tests hold the scaled round
to what a round must be: round 1 untouched, snapshots delivered whole, deltas only the changed
rows, and the truth's changes.csv naming exactly the rows that were sent as changes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from siheyuan.generate import GenerateSummary, generate_sample
from siheyuan.generate.config import month_config, world_config

from .helpers import read_csv, read_rows, source_key

PERSONS, SEED = 5000, 9


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> dict[float, list[GenerateSummary]]:
    """Rounds 1 and 2 of one population at the usual month (1.0) and at a quarter of it."""
    out = {}
    for scale in (1.0, 0.25):
        folder = tmp_path_factory.mktemp(f"scale{scale}")
        out[scale] = [
            generate_sample(PERSONS, SEED, folder, round_no=k, change_scale=scale) for k in (1, 2)
        ]
    return out


def _keys(summary: GenerateSummary, dataset: str) -> list[str]:
    keys = []
    for f in summary.files:
        if f.dataset == dataset:
            keys += [k for r in read_rows(f.path)[1] if (k := source_key(dataset, r))]
    return keys


def test_month_config_scales_only_the_listed_rates() -> None:
    usual = world_config()["monthly"]
    half = month_config(0.5)["monthly"]
    listed = set(world_config()["change_scaled_rates"])
    assert listed <= set(usual)
    for key, value in usual.items():
        if key in listed:
            assert half[key] == pytest.approx(float(value) * 0.5), key
        else:
            assert half[key] == value, key
    assert month_config(1.0) is world_config()
    assert world_config()["monthly"] == usual  # the cached config is not changed
    with pytest.raises(ValueError):
        month_config(0)


def test_round_1_is_the_same_whatever_the_scale(scaled) -> None:
    for a, b in zip(scaled[1.0][0].files, scaled[0.25][0].files, strict=True):
        assert a.path.name == b.path.name
        assert a.path.read_bytes() == b.path.read_bytes(), a.path.name


def test_a_scaled_round_has_proportionally_fewer_changes(scaled) -> None:
    usual = read_csv(scaled[1.0][1].truth_dir / "changes.csv")
    quarter = read_csv(scaled[0.25][1].truth_dir / "changes.csv")
    assert 0.15 * len(usual) < len(quarter) < 0.4 * len(usual)
    kinds = Counter(c["change_kind"] for c in quarter)
    for kind in ("moved", "corrected", "floating_arrived", "floating_departed", "died"):
        assert kinds[kind] > 0, kind
    # snapshot dirt churns less: fewer corrected snapshot values
    fixed = {
        s: sum(
            c["change_kind"] == "corrected" and c["dataset"] == "police_hukou"
            for c in read_csv(scaled[s][1].truth_dir / "changes.csv")
        )
        for s in (1.0, 0.25)
    }
    assert 0 < fixed[0.25] < 0.5 * fixed[1.0]


def test_a_scaled_round_is_still_a_real_round(scaled) -> None:
    r1, r2 = scaled[0.25]
    changes = read_csv(r2.truth_dir / "changes.csv")
    # snapshots whole: every live round-1 record is listed again
    hukou1, hukou2 = set(_keys(r1, "police_hukou")), set(_keys(r2, "police_hukou"))
    assert len(hukou2) > 0.97 * len(hukou1)
    # deltas only the changes, and the truth names exactly the rows sent
    for dataset in ("health_records", "hr_insured"):
        sent = set(_keys(r2, dataset))
        named = {c["source_key"] for c in changes if c["dataset"] == dataset}
        assert sent and sent == named, dataset
        assert len(sent) < 0.05 * len(_keys(r1, dataset))
    # snapshot changes name records of the round-2 snapshot (or the ones it cancelled)
    for c in changes:
        if c["dataset"] == "police_hukou":
            assert c["source_key"] in hukou2


def test_manifest_records_the_scale(scaled) -> None:
    import json

    m = json.loads((scaled[0.25][1].truth_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["change_scale"] == 0.25
    assert m["monthly_rates"]["household_moves"] == pytest.approx(
        world_config()["monthly"]["household_moves"] * 0.25
    )


def test_scale_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_sample(10, 1, tmp_path, round_no=2, change_scale=0)
