"""Tables in, tables out: the glue between the warehouse and ``siheyuan.linking.cluster``.

The dbt model ``int_person_clusters`` calls :func:`resolve` with the run's features, scored pairs
and the stewards' decisions; tests call it with hand-made tables. Decisions name records by
dataset and keyed hash (``meta.link_decision``), so a decision made on one run finds its records
on every later run, whatever their link ids (row positions of one run) are then.
"""

from __future__ import annotations

import pyarrow as pa
from siheyuan.linking.cluster import Decision, Pair, Record, Thresholds, cluster

REVIEW_TYPE = pa.list_(
    pa.struct(
        [
            ("other_link_id", pa.int64()),
            ("reason", pa.string()),
            ("match_weight", pa.float64()),
        ]
    )
)

OUTPUT_SCHEMA = pa.schema(
    [
        ("link_id", pa.int64()),
        ("source_dataset", pa.string()),
        ("source_key", pa.string()),
        ("cluster_link_id", pa.int64()),
        ("link_rule", pa.string()),
        ("linked_to_link_id", pa.int64()),
        ("link_match_weight", pa.float64()),
        ("review", REVIEW_TYPE),
    ]
)


def resolve(
    features: pa.Table, pairs: pa.Table, decisions: pa.Table, thresholds: Thresholds
) -> pa.Table:
    """One row per record: its cluster (a member's link_id), how it was linked, review pairs.

    ``features``: link_id, source_dataset, source_key, source_key_hash, id_number, id_conflict.
    ``pairs``: link_id_l, link_id_r, match_weight. ``decisions``: left_dataset, left_key_hash,
    right_dataset, right_key_hash, decision (must_link | cannot_link), the latest per pair.
    A review pair is listed once, on its lower link_id.
    """
    f = features.select(
        ["link_id", "source_dataset", "source_key", "source_key_hash", "id_number", "id_conflict"]
    ).to_pydict()
    records = [
        Record(lid, ds, key, idn, bool(conflict))
        for lid, ds, key, idn, conflict in zip(
            f["link_id"],
            f["source_dataset"],
            f["source_key"],
            f["id_number"],
            f["id_conflict"],
            strict=True,
        )
    ]
    by_hash = {
        (ds, h): lid
        for lid, ds, h in zip(f["link_id"], f["source_dataset"], f["source_key_hash"], strict=True)
    }
    p = pairs.select(["link_id_l", "link_id_r", "match_weight"]).to_pydict()
    scored = [
        Pair(a, b, w)
        for a, b, w in zip(p["link_id_l"], p["link_id_r"], p["match_weight"], strict=True)
    ]
    found = []
    for d in decisions.to_pylist():
        left = by_hash.get((d["left_dataset"], d["left_key_hash"]))
        right = by_hash.get((d["right_dataset"], d["right_key_hash"]))
        if left is not None and right is not None and left != right:
            found.append(Decision(left, right, d["decision"] == "must_link"))
    result = cluster(records, scored, found, thresholds)

    review: dict[int, list[dict[str, object]]] = {}
    for item in result.review:
        review.setdefault(item.left, []).append(
            {"other_link_id": item.right, "reason": item.reason, "match_weight": item.match_weight}
        )
    rows = {name: [] for name in OUTPUT_SCHEMA.names}
    for r in records:
        a = result.assignments[r.link_id]
        rows["link_id"].append(r.link_id)
        rows["source_dataset"].append(r.dataset)
        rows["source_key"].append(r.key)
        rows["cluster_link_id"].append(a.cluster)
        rows["link_rule"].append(a.rule)
        rows["linked_to_link_id"].append(a.linked_to)
        rows["link_match_weight"].append(a.link_weight)
        rows["review"].append(review.get(r.link_id))
    return pa.table(rows, schema=OUTPUT_SCHEMA)
