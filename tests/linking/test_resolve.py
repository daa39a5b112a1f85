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


def _by_link_id(table: pa.Table) -> dict[int, dict]:
    """resolve's rows by link_id, without component_hash (what the next run compares)."""
    return {
        r["link_id"]: {k: v for k, v in r.items() if k != "component_hash"}
        for r in table.to_pylist()
    }


@pytest.mark.parametrize("seed", range(12))
def test_resolve_equals_clustering_every_record_at_once(seed):
    features, pairs, decisions = _population(seed)
    got = resolve(features, pairs, decisions, TH)
    assert got.column("link_id").to_pylist() == sorted(features.column("link_id").to_pylist())
    expected = _reference(features, pairs, decisions)
    rules = {r["link_rule"] for r in expected.values()}
    # the population exercises every path: ID groups, held records, links, stewards, singletons
    assert {"id_number", "held_id_conflict", "probabilistic", "singleton"} <= rules
    assert _by_link_id(got) == expected


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


# --- between runs: unchanged components keep last run's outcome ---------------------------------


def _world(rng: random.Random, n: int) -> dict:
    """Records, pairs and decisions named by (dataset, key): link ids come from the key order."""
    ids = [f"3301061990020{i:05d}" for i in range(n // 3)]
    records = {}
    for i in range(n):
        id_number = rng.choice(ids) if rng.random() < 0.7 else None
        records[(rng.choice(DATASETS), f"k{i:05d}")] = (
            id_number,
            id_number is not None and rng.random() < 0.08,
        )
    world = {"records": records, "pairs": {}, "decisions": [], "next": n}
    for _ in range(n // 4):
        _add_pair(rng, world)
    for _ in range(n // 40):
        _add_decision(rng, world)
    return world


def _add_pair(rng: random.Random, world: dict) -> None:
    a, b = rng.sample(sorted(world["records"]), 2)
    if world["records"][a][0] and world["records"][b][0]:
        return  # the model never scores two valid IDs
    world["pairs"][tuple(sorted((a, b)))] = round(rng.uniform(3.0, 20.0), 2)


def _add_decision(rng: random.Random, world: dict) -> None:
    a, b = rng.sample(sorted(world["records"]), 2)
    world["decisions"].append((a, b, rng.choice(("must_link", "cannot_link"))))


def _next_month(rng: random.Random, world: dict) -> dict:
    """A few records gone, new, or with a changed ID; a few pairs gone, new or re-weighted."""
    records = dict(world["records"])
    for key in rng.sample(sorted(records), len(records) // 30):
        del records[key]
    for key in rng.sample(sorted(records), len(records) // 50):
        records[key] = (f"3301061990029{rng.randint(0, 99):05d}", False)
    for i in range(len(records) // 30):
        records[(rng.choice(DATASETS), f"k{world['next'] + i:05d}")] = (None, False)
    pairs = {
        (a, b): w
        for (a, b), w in world["pairs"].items()
        if a in records and b in records and not (records[a][0] and records[b][0])
    }
    new = {"records": records, "pairs": pairs, "decisions": list(world["decisions"])}
    new["next"] = world["next"] + len(records) // 30 + 1
    for key in rng.sample(sorted(pairs), len(pairs) // 30):
        pairs[key] = round(rng.uniform(3.0, 20.0), 2)
    for _ in range(len(pairs) // 30):
        _add_pair(rng, new)
    _add_decision(rng, new)
    return new


def _tables(world: dict) -> tuple[pa.Table, pa.Table, pa.Table]:
    order = sorted(world["records"])
    link = {key: n for n, key in enumerate(order, start=1)}
    features = pa.Table.from_pylist(
        [
            {
                "link_id": link[(ds, key)],
                "source_dataset": ds,
                "source_key": key,
                "source_key_hash": f"h{key}",
                "id_number": world["records"][(ds, key)][0],
                "id_conflict": world["records"][(ds, key)][1],
            }
            for ds, key in order
        ]
    )
    pairs = sorted((link[a], link[b], w) for (a, b), w in world["pairs"].items())
    pair_table = pa.table(
        {
            "link_id_l": pa.array([p[0] for p in pairs], pa.int64()),
            "link_id_r": pa.array([p[1] for p in pairs], pa.int64()),
            "match_weight": pa.array([p[2] for p in pairs], pa.float64()),
        }
    )
    decisions = pa.Table.from_pylist(
        [
            {
                "left_dataset": a[0],
                "left_key_hash": f"h{a[1]}",
                "right_dataset": b[0],
                "right_key_hash": f"h{b[1]}",
                "decision": decision,
            }
            for a, b, decision in world["decisions"]
        ],
        schema=pa.schema(
            [(k, pa.string()) for k in
             ("left_dataset", "left_key_hash", "right_dataset", "right_key_hash", "decision")]
        ),
    )  # fmt: skip
    return features, pair_table, decisions


@pytest.mark.parametrize("seed", range(6))
def test_a_run_from_the_previous_result_equals_a_run_from_nothing(seed, monkeypatch):
    import siheyuan.linking.resolve as resolve_module

    clustered: list[int] = []
    real_cluster = resolve_module.cluster

    def counting_cluster(records, *args):
        clustered.append(len(records))
        return real_cluster(records, *args)

    monkeypatch.setattr(resolve_module, "cluster", counting_cluster)
    rng = random.Random(seed)
    world = _world(rng, 600)
    previous = resolve(*_tables(world), TH)
    for _ in range(3):  # three months, each from the one before
        world = _next_month(rng, world)
        tables = _tables(world)
        clustered.clear()
        got = resolve(*tables, TH, previous)
        again = clustered[0]
        clustered.clear()
        full = resolve(*tables, TH)
        # every field, the component hashes included, as if nothing had been kept
        assert got.to_pylist() == full.to_pylist()
        # and only the changed components were clustered again (about a third here)
        assert 0 < again < clustered[0]
        previous = got


def test_other_thresholds_recluster_everything():
    rng = random.Random(11)
    tables = _tables(_world(rng, 300))
    previous = resolve(*tables, TH)
    stricter = Thresholds(12.0, TH.review_weight, TH.ambiguity_margin, TH.distinct_within)
    fresh = resolve(*tables, stricter)
    assert resolve(*tables, stricter, previous).to_pylist() == fresh.to_pylist()
    hashes = set(fresh.column("component_hash").to_pylist()) - {None}
    assert not hashes & set(previous.column("component_hash").to_pylist())
