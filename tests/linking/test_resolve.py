"""resolve(): the split into ID-only components (SQL) and the rest (cluster) changes nothing.

The reference is ``cluster`` run on every record at once, as resolve did before the split. Random
populations mix ID groups (some with held records), records without an ID, candidate pairs across
and inside groups, and steward decisions (some naming records that are gone).
"""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from siheyuan.linking.cluster import Decision, Pair, Record, Thresholds, cluster
from siheyuan.linking.resolve import resolve

TH = Thresholds(
    auto_link_weight=10.0,
    review_weight=3.0,
    ambiguity_margin=4.0,
    distinct_within=frozenset({"police_hukou", "health_records"}),
)
DATASETS = ("police_hukou", "health_records", "civil_assistance", "police_floating")


def _population(seed: int, n: int = 400):
    rng = random.Random(seed)
    ids = [f"3301061990010{i:05d}" for i in range(n // 3)]
    rows = []
    for link_id in range(1, n + 1):
        id_number = rng.choice(ids) if rng.random() < 0.7 else None
        rows.append(
            {
                "link_id": link_id,
                "source_dataset": rng.choice(DATASETS),
                "source_key": f"k{link_id}",
                "source_key_hash": f"h{link_id}",
                "id_number": id_number,
                "id_conflict": id_number is not None and rng.random() < 0.08,
            }
        )
    pairs = set()
    for _ in range(n // 4):
        a, b = rng.sample(range(1, n + 1), 2)
        if rows[a - 1]["id_number"] and rows[b - 1]["id_number"]:
            continue  # the model never scores two valid IDs
        pairs.add((min(a, b), max(a, b), round(rng.uniform(3.0, 20.0), 2)))
    decisions = []
    for _ in range(n // 40):
        a, b = rng.sample(range(1, n + 3), 2)  # n+1, n+2: records that are gone
        decisions.append(
            {
                "left_dataset": rows[a - 1]["source_dataset"] if a <= n else "gone",
                "left_key_hash": f"h{a}",
                "right_dataset": rows[b - 1]["source_dataset"] if b <= n else "gone",
                "right_key_hash": f"h{b}",
                "decision": rng.choice(("must_link", "cannot_link")),
            }
        )
    rng.shuffle(rows)  # resolve must not depend on the order it is given
    features = pa.Table.from_pylist(rows)
    pair_table = pa.table(
        {
            "link_id_l": [p[0] for p in sorted(pairs)],
            "link_id_r": [p[1] for p in sorted(pairs)],
            "match_weight": [p[2] for p in sorted(pairs)],
        }
    )
    decision_table = pa.Table.from_pylist(
        decisions,
        schema=pa.schema([(k, pa.string()) for k in decisions[0]]),
    )
    return features, pair_table, decision_table


def _reference(features: pa.Table, pairs: pa.Table, decisions: pa.Table) -> dict[int, dict]:
    """cluster() on every record: what resolve returned before it split the work."""
    rows = sorted(features.to_pylist(), key=lambda r: r["link_id"])
    records = [
        Record(r["link_id"], r["source_dataset"], r["source_key"], r["id_number"], r["id_conflict"])
        for r in rows
    ]
    by_hash = {(r["source_dataset"], r["source_key_hash"]): r["link_id"] for r in rows}
    found = []
    for d in decisions.to_pylist():
        left = by_hash.get((d["left_dataset"], d["left_key_hash"]))
        right = by_hash.get((d["right_dataset"], d["right_key_hash"]))
        if left is not None and right is not None and left != right:
            found.append(Decision(left, right, d["decision"] == "must_link"))
    scored = [Pair(p["link_id_l"], p["link_id_r"], p["match_weight"]) for p in pairs.to_pylist()]
    result = cluster(records, scored, found, TH)
    review: dict[int, list[dict]] = {}
    for item in result.review:
        review.setdefault(item.left, []).append(
            {"other_link_id": item.right, "reason": item.reason, "match_weight": item.match_weight}
        )
    out = {}
    for r in records:
        a = result.assignments[r.link_id]
        items = sorted(review.get(r.link_id, []), key=lambda i: i["other_link_id"])
        out[r.link_id] = {
            "link_id": r.link_id,
            "source_dataset": r.dataset,
            "source_key": r.key,
            "cluster_link_id": a.cluster,
            "link_rule": a.rule,
            "linked_to_link_id": a.linked_to,
            "link_match_weight": a.link_weight,
            "review": items or None,
        }
    return out


@pytest.mark.parametrize("seed", range(12))
def test_resolve_equals_clustering_every_record_at_once(seed):
    features, pairs, decisions = _population(seed)
    got = resolve(features, pairs, decisions, TH)
    assert got.column("link_id").to_pylist() == sorted(features.column("link_id").to_pylist())
    expected = _reference(features, pairs, decisions)
    rules = {r["link_rule"] for r in expected.values()}
    # the population exercises every path: ID groups, held records, links, stewards, singletons
    assert {"id_number", "held_id_conflict", "probabilistic", "singleton"} <= rules
    assert {r["link_id"]: r for r in got.to_pylist()} == expected


def test_an_id_group_without_pairs_is_one_cluster_and_its_held_record_is_queued():
    features = pa.Table.from_pylist(
        [
            {"link_id": 3, "source_dataset": "police_hukou", "source_key": "a",
             "source_key_hash": "ha", "id_number": "X", "id_conflict": False},
            {"link_id": 1, "source_dataset": "health_records", "source_key": "b",
             "source_key_hash": "hb", "id_number": "X", "id_conflict": True},
            {"link_id": 2, "source_dataset": "hr_insured", "source_key": "c",
             "source_key_hash": "hc", "id_number": "X", "id_conflict": False},
            {"link_id": 4, "source_dataset": "hr_insured", "source_key": "d",
             "source_key_hash": "hd", "id_number": None, "id_conflict": False},
        ]
    )  # fmt: skip
    empty_pairs = pa.table(
        {"link_id_l": pa.array([], pa.int64()), "link_id_r": pa.array([], pa.int64()),
         "match_weight": pa.array([], pa.float64())}
    )  # fmt: skip
    empty_decisions = pa.table(
        {k: pa.array([], pa.string()) for k in
         ("left_dataset", "left_key_hash", "right_dataset", "right_key_hash", "decision")}
    )  # fmt: skip
    got = {r["link_id"]: r for r in resolve(features, empty_pairs, empty_decisions, TH).to_pylist()}
    assert (got[2]["cluster_link_id"], got[3]["cluster_link_id"]) == (2, 2)
    assert got[2]["link_rule"] == got[3]["link_rule"] == "id_number"
    assert (got[1]["cluster_link_id"], got[1]["link_rule"]) == (1, "held_id_conflict")
    assert got[1]["review"] == [{"other_link_id": 2, "reason": "id_conflict", "match_weight": None}]
    assert (got[4]["cluster_link_id"], got[4]["link_rule"]) == (4, "singleton")
