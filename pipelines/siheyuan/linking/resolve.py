"""Tables in, tables out: the glue between the warehouse and ``siheyuan.linking.cluster``.

The dbt model ``int_person_clusters`` calls :func:`resolve` with the run's features, scored pairs
and the stewards' decisions; tests call it with hand-made tables. Decisions name records by
dataset and keyed hash (``meta.link_decision``), so a decision made on one run finds its records
on every later run, whatever their link ids (row positions of one run) are then.

Why two paths: the clustering (``cluster``) is edge by edge in Python, but its outcome only
depends on a record's connected component in the graph of shared ID numbers, scored pairs and
decisions. Most records (everyone with a valid ID and no candidate pair) sit in a component made
of ID edges alone, whose outcome is fixed: the ID group is one cluster rooted at its lowest
non-held link id, a held record is alone and queued beside that root. Those are computed in one
SQL statement; only the components that hold a pair or a decision (a few per cent of the records)
go through ``cluster``. The split is exact: ``tests/linking/test_resolve.py`` compares it with
``cluster`` on every record.

Between runs, the same argument goes one step further: a component whose records (in link-id
order, by dataset and key), scored pairs, decisions and thresholds are all what they were last run
gets last run's outcome, re-expressed in this run's link ids (row positions, whose order follows
dataset and key in every run). ``component_hash`` says what a component was; only components whose
hash is new go through ``cluster`` (``tests/linking/test_resolve.py`` compares a run from the
previous table with a run from nothing).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from siheyuan.linking.cluster import Clustering, Decision, Pair, Record, Thresholds, cluster

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
        ("component_hash", pa.string()),
    ]
)

_FEATURE_COLUMNS = ["link_id", "source_dataset", "source_key", "source_key_hash", "id_number"]

#: Records whose component holds no pair and no decision: the ID tier decides them alone
#: (``cluster`` steps 2 and the singleton rule). ``active`` lists the other records.
_ID_ONLY_SQL = """
with f as (
    select link_id, source_dataset, source_key, nullif(id_number, '') as id_number,
           coalesce(id_conflict, false) as id_conflict
    from features
    where link_id not in (select link_id from active)
),
groups as (
    select id_number,
           min(link_id) filter (where not id_conflict) as head,
           count(*) filter (where not id_conflict) as n
    from f where id_number is not null group by id_number
),
held_review as (
    select least(f.link_id, g.head) as left_id, greatest(f.link_id, g.head) as right_id
    from f join groups as g using (id_number)
    where f.id_conflict and g.head is not null
),
review as (
    select left_id,
           list({'other_link_id': right_id, 'reason': 'id_conflict',
                 'match_weight': cast(null as double)} order by right_id) as review
    from held_review group by left_id
)
select
    f.link_id,
    f.source_dataset,
    f.source_key,
    case when f.id_number is null or f.id_conflict then f.link_id else g.head end
        as cluster_link_id,
    case
        when f.id_number is not null and f.id_conflict then 'held_id_conflict'
        when g.n >= 2 then 'id_number'
        else 'singleton'
    end as link_rule,
    cast(null as bigint) as linked_to_link_id,
    cast(null as double) as link_match_weight,
    r.review,
    cast(null as varchar) as component_hash
from f
left join groups as g on g.id_number = f.id_number
left join review as r on r.left_id = f.link_id
"""

#: The records of every component holding a pair or a decision: the touched records and every
#: record sharing a valid or held ID number with one (a closed set: its neighbours are inside).
_ACTIVE_SQL = """
with touched as (
    select link_id_l as link_id from pairs union select link_id_r from pairs
    union select left_id from found union select right_id from found
),
ids as (
    select distinct nullif(f.id_number, '') as id_number
    from features as f join touched using (link_id)
)
select f.link_id, f.source_dataset, f.source_key, f.id_number,
       coalesce(f.id_conflict, false) as id_conflict
from features as f
where f.link_id in (select link_id from touched)
   or nullif(f.id_number, '') in (select id_number from ids where id_number is not null)
order by f.link_id
"""

#: Decisions resolved to this run's link ids, in the order they were given.
_FOUND_SQL = """
select l.link_id as left_id, r.link_id as right_id, d.decision = 'must_link' as must_link
from decisions as d
join features as l on l.source_dataset = d.left_dataset and l.source_key_hash = d.left_key_hash
join features as r on r.source_dataset = d.right_dataset and r.source_key_hash = d.right_key_hash
where l.link_id <> r.link_id
order by d.ordinal
"""


def resolve(
    features: pa.Table,
    pairs: pa.Table,
    decisions: pa.Table,
    thresholds: Thresholds,
    previous: pa.Table | None = None,
) -> pa.Table:
    """One row per record: its cluster (a member's link_id), how it was linked, review pairs.

    ``features``: link_id, source_dataset, source_key, source_key_hash, id_number, id_conflict.
    ``pairs``: link_id_l, link_id_r, match_weight. ``decisions``: left_dataset, left_key_hash,
    right_dataset, right_key_hash, decision (must_link | cannot_link), the latest per pair.
    ``previous``: the last run's result (this function's output), whose unchanged components
    are reused. A review pair is listed once, on its lower link_id; a record's review list is
    ordered by the other record's link_id. Rows come in link_id order.
    """
    features = features.select([*_FEATURE_COLUMNS, "id_conflict"])
    pairs = pairs.select(["link_id_l", "link_id_r", "match_weight"])
    decisions = decisions.select(
        ["left_dataset", "left_key_hash", "right_dataset", "right_key_hash", "decision"]
    )
    decisions = decisions.append_column(
        "ordinal", pa.array(range(decisions.num_rows), type=pa.int64())
    )
    conn = duckdb.connect()
    try:
        conn.register("features", features)
        conn.register("pairs", pairs)
        conn.register("decisions", decisions)
        found_table = conn.sql(_FOUND_SQL).to_arrow_table()
        conn.register("found", found_table)
        active_table = conn.sql(_ACTIVE_SQL).to_arrow_table()
        conn.register("active", active_table.select(["link_id"]))
        id_only = conn.sql(_ID_ONLY_SQL).to_arrow_table()
    finally:
        conn.close()

    a = active_table.to_pydict()
    records = [
        Record(lid, ds, key, idn or None, bool(conflict))
        for lid, ds, key, idn, conflict in zip(
            a["link_id"],
            a["source_dataset"],
            a["source_key"],
            a["id_number"],
            a["id_conflict"],
            strict=True,
        )
    ]
    p = pairs.to_pydict()
    scored = [
        Pair(x, y, w)
        for x, y, w in zip(p["link_id_l"], p["link_id_r"], p["match_weight"], strict=True)
    ]
    d = found_table.to_pydict()
    found = [
        Decision(x, y, bool(m))
        for x, y, m in zip(d["left_id"], d["right_id"], d["must_link"], strict=True)
    ]
    hashes = component_hashes(records, scored, found, thresholds)
    reused = _reuse(records, hashes, previous)
    redo = [r for r in records if r.link_id not in reused]
    redo_ids = {r.link_id for r in redo}
    result = cluster(
        redo,
        [x for x in scored if x.left in redo_ids],
        [x for x in found if x.left in redo_ids],
        thresholds,
    )
    active = _table(redo, result, hashes)
    parts = [active, id_only.cast(OUTPUT_SCHEMA)]
    if reused:
        rows = [reused[lid] for lid in sorted(reused)]
        parts.append(pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA))
    return pa.concat_tables(parts).sort_by("link_id")


@cache
def _code_version() -> str:
    """The clustering code: an outcome made by other code is never reused."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in ("cluster.py", "resolve.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def component_hashes(
    records: list[Record], pairs: list[Pair], found: list[Decision], thresholds: Thresholds
) -> dict[int, str]:
    """Each record's component (shared ID numbers, pairs, decisions) as a hash of its contents.

    Records are named by dataset and key, never by link id; they are listed in link-id order,
    pairs by their records, decisions in the order they are applied, so two components with one
    hash give ``cluster`` the same input up to an order-keeping renumbering.
    """
    parent = {r.link_id: r.link_id for r in records}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: int, y: int) -> None:
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)

    first_of_id: dict[str, int] = {}
    for r in records:
        if r.id_number:
            union(first_of_id.setdefault(r.id_number, r.link_id), r.link_id)
    for x in pairs:
        union(x.left, x.right)
    for x in found:
        union(x.left, x.right)
    by_id = {r.link_id: r for r in records}
    lines: dict[int, list[str]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r.link_id):
        lines[find(r.link_id)].append(f"r|{r.dataset}|{r.key}|{r.id_number}|{r.id_conflict}")

    def name(x: int) -> str:
        return f"{by_id[x].dataset}|{by_id[x].key}"

    for x in sorted(pairs, key=lambda x: (x.left, x.right)):
        lines[find(x.left)].append(f"p|{name(x.left)}|{name(x.right)}|{x.match_weight!r}")
    for x in found:
        lines[find(x.left)].append(f"d|{name(x.left)}|{name(x.right)}|{x.must_link}")
    settings = (
        f"{_code_version()}|{thresholds.auto_link_weight!r}|{thresholds.review_weight!r}|"
        f"{thresholds.ambiguity_margin!r}|{sorted(thresholds.distinct_within)}"
    )
    digest = {
        root: hashlib.sha256("\n".join([settings, *body]).encode()).hexdigest()[:24]
        for root, body in lines.items()
    }
    return {r.link_id: digest[find(r.link_id)] for r in records}


def _reuse(
    records: list[Record], hashes: dict[int, str], previous: pa.Table | None
) -> dict[int, dict[str, object]]:
    """Rows of this run for records whose component is unchanged, from the previous run's rows."""
    if previous is None or "component_hash" not in previous.column_names:
        return {}
    wanted = set(hashes.values())
    mask = pc.is_in(previous.column("component_hash"), pa.array(list(wanted)))
    old_rows = previous.filter(mask).to_pylist()
    if not old_rows:
        return {}
    now = {(r.dataset, r.key): r.link_id for r in records}
    old_to_new: dict[int, int] = {}
    for row in old_rows:
        lid = now.get((row["source_dataset"], row["source_key"]))
        if lid is not None and hashes[lid] == row["component_hash"]:
            old_to_new[row["link_id"]] = lid
    out: dict[int, dict[str, object]] = {}
    for row in old_rows:
        lid = old_to_new.get(row["link_id"])
        if lid is None:
            continue
        linked_to = row["linked_to_link_id"]
        review = row["review"]
        out[lid] = {
            **row,
            "link_id": lid,
            "cluster_link_id": old_to_new[row["cluster_link_id"]],
            "linked_to_link_id": None if linked_to is None else old_to_new[linked_to],
            "review": None
            if review is None
            else [{**i, "other_link_id": old_to_new[i["other_link_id"]]} for i in review],
        }
    return out


def _table(records: list[Record], result: Clustering, hashes: dict[int, str]) -> pa.Table:
    """The clustered records as rows of ``OUTPUT_SCHEMA``."""
    review: dict[int, list[dict[str, object]]] = {}
    for item in result.review:
        review.setdefault(item.left, []).append(
            {"other_link_id": item.right, "reason": item.reason, "match_weight": item.match_weight}
        )
    for items in review.values():
        items.sort(key=lambda i: i["other_link_id"])
    rows: dict[str, list[object]] = {name: [] for name in OUTPUT_SCHEMA.names}
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
        rows["component_hash"].append(hashes[r.link_id])
    return pa.table(rows, schema=OUTPUT_SCHEMA)
