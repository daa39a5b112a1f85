"""Incremental scoring equals a full prediction (siheyuan.linking.incremental).

Random populations shaped so the model's blocking rules find many pairs (few names, shared
buildings, birth days and phones, half without a valid ID), then a month of changes: records
removed, added and changed. Scoring the new population from the previous cache must give the
pairs a full prediction gives, field by field — weights included, which move with the name
frequencies of the whole population — and the guards must fall back to a full prediction when
the cache cannot be trusted.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from siheyuan.linking.config import IncrementalSettings
from siheyuan.linking.incremental import score_with_cache
from siheyuan.linking.model import MODEL_COLUMNS
from siheyuan.linking.predict import load_model

REVIEW = 3.0
SURNAMES = "王李张刘陈杨黄赵"
GIVEN = "伟芳娜敏静"
BUILDINGS = [f"西湖区|金都花园|{n}" for n in range(1, 7)]


def _person(rng: random.Random, key: int) -> dict:
    s, g = rng.choice(SURNAMES), rng.choice(GIVEN)
    day = f"19{rng.randint(60, 99)}-0{rng.randint(1, 3)}-1{rng.randint(0, 2)}"
    valid = rng.random() < 0.4
    return {
        "source_dataset": rng.choice(["police_hukou", "health_records", "police_floating"]),
        "source_key_hash": f"k{key:06d}",
        "id_number": f"330106{day.replace('-', '')}{key % 1000:03d}1" if valid else None,
        "id_text_invalid": None,
        "id_head15": None,
        "name_normalised": s + g,
        "name_pinyin": f"{s}{g}".encode().hex()[:10],
        "name_initials": f"{SURNAMES.index(s)}{GIVEN.index(g)}",
        "former_name": None,
        "sex_code": rng.choice(["1", "2"]),
        "birth_day": day,
        "birth_month": day[:7],
        "phone_e164": rng.choice([None, "+8613800000001", "+8613800000002", "+8613900000003"]),
        "building_key": rng.choice(BUILDINGS),
        "unit_no": rng.choice(["1", "2"]),
        "room_no": rng.choice(["101", "201", "301"]),
        "guardian_id_number": None,
        "member_ids": None,
    }


def _table(rows: list[dict]) -> pa.Table:
    rows = sorted(rows, key=lambda r: (r["source_dataset"], r["source_key_hash"]))
    for n, r in enumerate(rows, start=1):
        r["link_id"] = n  # a row position of this run, as in int_person_link_features
    schema = pa.schema(
        [("link_id", pa.int64()), ("member_ids", pa.list_(pa.string()))]
        + [
            (c, pa.string())
            for c in (*MODEL_COLUMNS, "source_dataset", "source_key_hash")
            if c not in ("link_id", "member_ids")
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _month(rng: random.Random, rows: list[dict], next_key: int) -> list[dict]:
    """About 3 % removed, 3 % changed (phone, building or name), 3 % new."""
    out = []
    for r in rows:
        x = rng.random()
        if x < 0.03:
            continue
        r = dict(r)
        if x < 0.06:
            field = rng.choice(["phone_e164", "building_key", "name_normalised"])
            r[field] = {
                "phone_e164": "+8613700000009",
                "building_key": rng.choice(BUILDINGS),
                "name_normalised": rng.choice(SURNAMES) + rng.choice(GIVEN),
            }[field]
        out.append(r)
    out += [_person(rng, next_key + i) for i in range(len(rows) * 3 // 100)]
    return out


def _rows(cache: pa.Table, kind: str) -> list[dict]:
    """The rows of one kind without the columns that say how the run scored."""
    drop = ("fingerprint", "complete_above", "mode", "delta_records")
    rows = [r for r in cache.to_pylist() if r["kind"] == kind]
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def _pairs(cache: pa.Table, above_floor_only: bool = True) -> list[dict]:
    return [r for r in _rows(cache, "pair") if r["above_floor"] or not above_floor_only]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_incremental_months_give_the_pairs_of_a_full_prediction(seed):
    rng = random.Random(seed)
    model = load_model()
    rows = [_person(rng, k) for k in range(900)]
    cache, outcome = score_with_cache(_table(rows), model, REVIEW, None)
    assert outcome.mode == "full"
    next_key = 900
    for _ in range(2):
        rows = _month(rng, rows, next_key)
        next_key += 100
        features = _table(rows)
        cache, outcome = score_with_cache(features, model, REVIEW, cache)
        full, _ = score_with_cache(features, model, REVIEW, None)
        assert outcome.mode == "incremental", outcome.reason
        assert 0 < outcome.delta_records < features.num_rows // 5
        assert outcome.cached_pairs_rescored > 0
        incremental_pairs = _pairs(cache)
        assert len(incremental_pairs) > 50
        assert incremental_pairs == _pairs(full)
        # the records are described the same way, whatever the mode
        assert _rows(cache, "record") == _rows(full, "record")
        # below the review weight the cache holds every pair down to complete_above
        floor = outcome.complete_above
        assert [p for p in _pairs(cache, False) if p["match_weight"] >= floor] == [
            p for p in _pairs(full, False) if p["match_weight"] >= floor
        ]


def test_nothing_changed_rescores_the_cache_and_changes_nothing():
    rng = random.Random(9)
    features = _table([_person(rng, k) for k in range(500)])
    model = load_model()
    first, _ = score_with_cache(features, model, REVIEW, None)
    again, outcome = score_with_cache(features, model, REVIEW, first)
    assert (outcome.mode, outcome.delta_records) == ("incremental", 0)
    assert _pairs(again, False) == _pairs(first, False)


def test_a_changed_model_or_threshold_scores_everything_again():
    rng = random.Random(4)
    features = _table([_person(rng, k) for k in range(300)])
    model = load_model()
    cache, _ = score_with_cache(features, model, REVIEW, None)
    _, outcome = score_with_cache(features, model, REVIEW + 1, cache)
    assert outcome.mode == "full" and "changed" in outcome.reason
    retrained = {**model, "probability_two_random_records_match": 1e-5}
    _, outcome = score_with_cache(features, retrained, REVIEW, cache)
    assert outcome.mode == "full"


def test_a_large_delta_or_disabled_cache_scores_everything():
    rng = random.Random(5)
    rows = [_person(rng, k) for k in range(300)]
    model = load_model()
    cache, _ = score_with_cache(_table(rows), model, REVIEW, None)
    half_new = rows[:150] + [_person(rng, 1000 + k) for k in range(150)]
    _, outcome = score_with_cache(_table(half_new), model, REVIEW, cache)
    assert outcome.mode == "full" and "max_delta_share" in outcome.reason
    off = IncrementalSettings(enabled=False)
    _, outcome = score_with_cache(_table(rows), model, REVIEW, cache, off)
    assert outcome.mode == "full" and "off" in outcome.reason


def test_a_name_much_rarer_than_before_scores_everything():
    # 王伟 held by 12 records, 10 of them go: a pair of the 2 left gains log2(12/2 · …) bits,
    # more than the margin: an uncached pair could now reach the review weight
    rng = random.Random(6)
    rows = [_person(rng, k) for k in range(300)]
    for k in range(12):
        rows[k].update(name_normalised="王伟")
    model = load_model()
    settings = IncrementalSettings(margin_weight=1.0)
    cache, _ = score_with_cache(_table(rows), model, REVIEW, None, settings)
    _, outcome = score_with_cache(_table(rows[10:]), model, REVIEW, cache, settings)
    assert outcome.mode == "full" and "name frequencies" in outcome.reason
