"""How well source records are linked into persons, households and buildings, against the truth.

Entity resolution is scored on one round of the generator's ground truth (``truth/round_K``)
and the warehouse database a run built (read from its tables, not from the published Parquet:
the per-record building key is intermediate). Every figure is counted in DuckDB from contingency
tables (cells = records sharing a predicted and a true cluster), so it scales to millions of
records without enumerating pairs.

**Evaluated records.** The round's ``records.csv`` rows, one per (dataset, source_key) — a key
delivered twice in a round keeps its last file's row, as the warehouse does. Each is joined to
``marts.resident_source_xref`` on (source_dataset, source_key). A truth record the xref lacks
(quarantined, never ingested) is counted and reported, and is its own singleton cluster: the hub
did not link it to anyone.

**Pairwise precision / recall / F1.** With n_ij records in predicted cluster i and true cluster
j: true-positive pairs TP = Σ C(n_ij, 2), predicted pairs = Σ_i C(n_i., 2), true pairs =
Σ_j C(n_.j, 2); precision = TP / predicted pairs, recall = TP / true pairs (1.0 when there are
no pairs), F1 their harmonic mean.

* Persons: truth label ``person_id``, predicted label the record's ``resident_id``.
* Households: over the round's *active* police_hukou records with a ``household_truth_id``;
  predicted label the published ``marts.resident.household_id`` of the record's resident (NULL,
  or no resident: a singleton); truth label ``household_truth_id``.
* Buildings: over the truth records with a ``building_truth_id``; predicted label the record's
  ``building_key`` (``intermediate.int_resident_records``; NULL: a singleton); truth label
  ``building_truth_id``.

**B-cubed** (persons, over records): a record's precision is the share of its predicted cluster
that is its true person, its recall the share of its true person's records in its predicted
cluster; B-cubed precision and recall are their means over records (Σ n_ij² / n_i. / N and
Σ n_ij² / n_.j / N), F1 the harmonic mean of the two means.

**Correct canonical ID.** Over published residents (``marts.resident``) holding at least one
evaluated record: the resident's true person is the one holding most of its evaluated records
(ties: the smallest person_id). *Correct* when ``resident.id_number`` equals that person's
``id_number`` in persons.csv (both NULL also counts as correct), *missing* when the resident has
no number and the person has one, *wrong* otherwise (another person's or a mistyped number).

**Confusion.** False-merge pairs (same resident, different persons) and missed pairs (same
person, different residents or singletons), counted by kind: the two records' datasets, whether
each had a usable ID (``int_resident_records.id_number`` not NULL), and — for false merges —
whether the two persons are twins (persons.csv: same ``household_truth_id`` and
``birth_date``). Counts come from the same contingency tables (pairs within a group minus pairs
within a finer group), so they add up to predicted pairs − TP and true pairs − TP. Up to
``EXAMPLES`` example pairs of each error are listed, spread over the kinds, with the source key
masked (a key can be an ID number).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from .quality.privacy import mask_text

TARGETS = {
    "person_pairwise_f1": 0.999,
    "person_pairwise_precision": 0.999,
    "household_pairwise_f1": 0.999,
    "building_pairwise_f1": 0.995,
}
#: Example pairs listed per error (false merges, missed pairs).
EXAMPLES = 20

# One row per evaluated record: truth labels, predicted labels (prefixed, so a singleton's
# label can never equal a resident's, household's or building's), and the record's kind.
_RECORDS_SQL = """
create or replace temp table ev_records as
with t as (
    select dataset, source_key, person_id, nullif(household_truth_id, '') as household_truth_id,
           nullif(building_truth_id, '') as building_truth_id, record_state
    from read_csv(?, all_varchar = true)
    qualify row_number() over (partition by dataset, source_key order by file_name desc) = 1
),
p as (
    select person_id,
           case when nullif(household_truth_id, '') is not null
                     and nullif(birth_date, '') is not null
                     and count(*) over (partition by household_truth_id, birth_date) > 1
                then 'twins:' || household_truth_id || '|' || birth_date
                else 'person:' || person_id end as twin_group
    from read_csv(?, all_varchar = true)
),
j as (
    select row_number() over (order by t.dataset, t.source_key) as rid, t.*,
           x.resident_id, coalesce(r.id_number is not null, false) as usable_id,
           r.building_key, res.household_id
    from t
    left join marts.resident_source_xref as x
        on x.source_dataset = t.dataset and x.source_key = t.source_key
    left join intermediate.int_resident_records as r
        on r.source_dataset = t.dataset and r.source_key = t.source_key
    left join marts.resident as res on res.resident_id = x.resident_id
)
select j.*,
       coalesce(p.twin_group, 'person:' || j.person_id) as twin_group,
       coalesce('resident:' || j.resident_id, 'singleton:' || j.rid) as resident_label,
       coalesce('household:' || j.household_id, 'singleton:' || j.rid) as household_label,
       coalesce('building:' || j.building_key, 'singleton:' || j.rid) as building_label
from j
left join p using (person_id)
"""


def evaluate_linking(truth_round: Path, conn: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Person, household and building linkage figures and the person confusion (see above).

    ``truth_round`` is one round folder (records.csv, persons.csv); ``conn`` a connection to the
    warehouse database or a private copy of it (a temp table is created on it).
    """
    truth_round = Path(truth_round)
    conn.execute(_RECORDS_SQL, [str(truth_round / "records.csv"), str(truth_round / "persons.csv")])
    try:
        persons = pairwise(conn, "ev_records", "resident_label", "person_id", bcubed=True)
        (missing,) = conn.execute(
            "select count(*) from ev_records where resident_id is null"
        ).fetchone()
        missing_by_dataset = dict(
            conn.execute(
                "select dataset, count(*) from ev_records where resident_id is null "
                "group by dataset order by dataset"
            ).fetchall()
        )
        households = pairwise(
            conn,
            "(select * from ev_records where dataset = 'police_hukou' and record_state = 'active'"
            " and household_truth_id is not null)",
            "household_label",
            "household_truth_id",
        )
        buildings = pairwise(
            conn,
            "(select * from ev_records where building_truth_id is not null)",
            "building_label",
            "building_truth_id",
        )
        canonical = canonical_ids(conn, truth_round / "persons.csv")
        confusion = person_confusion(conn)
    finally:
        conn.execute("drop table if exists ev_records")
    persons["records_not_in_xref"] = missing
    persons["records_not_in_xref_by_dataset"] = missing_by_dataset
    meets = (
        persons["pairwise"]["f1"] >= TARGETS["person_pairwise_f1"]
        and persons["pairwise"]["precision"] >= TARGETS["person_pairwise_precision"]
        and households["pairwise"]["f1"] >= TARGETS["household_pairwise_f1"]
        and buildings["pairwise"]["f1"] >= TARGETS["building_pairwise_f1"]
    )
    return {
        "persons": persons,
        "households": households,
        "buildings": buildings,
        "canonical_ids": canonical,
        "confusion": confusion,
        "targets": TARGETS,
        "meets_targets": meets,
    }


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def pairwise(
    conn: duckdb.DuckDBPyConnection,
    relation: str,
    predicted: str,
    truth: str,
    bcubed: bool = False,
) -> dict[str, Any]:
    """Pairwise (and optionally B-cubed) figures of ``relation``'s predicted vs true labels.

    ``relation`` is a table name or a parenthesised query; ``predicted`` and ``truth`` name
    non-NULL label columns of it.
    """
    records, tp, predicted_pairs, true_pairs, n_pred, n_true, b_p, b_r = conn.execute(
        f"""
        with cells as (
            select {predicted} as p, {truth} as t, count(*) as n
            from {relation} as rel
            group by all
        ),
        sized as (
            select n, sum(n) over (partition by p) as n_p, sum(n) over (partition by t) as n_t
            from cells
        ),
        pc as (select sum(n) as n from cells group by p),
        tc as (select sum(n) as n from cells group by t)
        select
            coalesce((select sum(n) from cells), 0),
            coalesce((select sum(n * (n - 1) // 2) from cells), 0),
            coalesce((select sum(n * (n - 1) // 2) from pc), 0),
            coalesce((select sum(n * (n - 1) // 2) from tc), 0),
            (select count(*) from pc),
            (select count(*) from tc),
            (select sum(n * n / n_p) from sized),
            (select sum(n * n / n_t) from sized)
        """
    ).fetchone()
    precision, recall = _ratio(tp, predicted_pairs), _ratio(tp, true_pairs)
    result: dict[str, Any] = {
        "records": int(records),
        "predicted_clusters": n_pred,
        "true_clusters": n_true,
        "pairwise": {
            "true_positive_pairs": int(tp),
            "predicted_pairs": int(predicted_pairs),
            "true_pairs": int(true_pairs),
            "false_merge_pairs": int(predicted_pairs - tp),
            "missed_pairs": int(true_pairs - tp),
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
        },
    }
    if bcubed:
        bp = b_p / records if records else 1.0
        br = b_r / records if records else 1.0
        result["bcubed"] = {"precision": bp, "recall": br, "f1": _f1(bp, br)}
    return result


def canonical_ids(conn: duckdb.DuckDBPyConnection, persons_csv: Path) -> dict[str, Any]:
    """Residents whose published ID number is their true person's (see the module docstring)."""
    residents, correct, wrong, missing = conn.execute(
        """
        with held as (
            select resident_id, person_id, count(*) as n
            from ev_records
            where resident_id is not null
            group by resident_id, person_id
            qualify row_number() over (partition by resident_id order by n desc, person_id) = 1
        ),
        p as (
            select person_id, nullif(id_number, '') as true_id
            from read_csv(?, all_varchar = true)
        ),
        j as (
            select r.id_number, p.true_id
            from held as h
            join marts.resident as r using (resident_id)
            left join p using (person_id)
        )
        select count(*),
               count(*) filter (where id_number is not distinct from true_id),
               count(*) filter (where id_number is not null and id_number is distinct from true_id),
               count(*) filter (where id_number is null and true_id is not null)
        from j
        """,
        [str(persons_csv)],
    ).fetchone()
    return {
        "residents": residents,
        "correct": correct,
        "wrong": wrong,
        "missing": missing,
        "correct_share": _ratio(correct, residents),
    }


def _pairs_within(conn: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> dict[tuple, int]:
    """Unordered pairs of evaluated records sharing every column of ``keys``, by record kind.

    A kind is (dataset, usable_id); a pair's kinds are ordered so that (a, b) and (b, a) are one.
    Records are first grouped by keys and kind, so the self-join stays at most
    (number of kinds)² per key group.
    """
    keys = list(keys)
    cols = ", ".join(keys)
    on = " and ".join(f"a.{k} = b.{k}" for k in keys)
    rows = conn.execute(
        f"""
        with g as (
            select {cols}, dataset, usable_id, count(*) as n from ev_records group by all
        )
        select a.dataset, a.usable_id, b.dataset, b.usable_id,
               sum(case when a.dataset = b.dataset and a.usable_id = b.usable_id
                        then a.n * (a.n - 1) // 2 else a.n * b.n end)
        from g as a
        join g as b
            on {on}
           and (a.dataset < b.dataset or (a.dataset = b.dataset and a.usable_id <= b.usable_id))
        group by all
        """
    ).fetchall()
    return {(da, ia, db, ib): int(n) for da, ia, db, ib, n in rows if n}


def _minus(a: dict[tuple, int], b: dict[tuple, int]) -> dict[tuple, int]:
    out = {k: a.get(k, 0) - b.get(k, 0) for k in set(a) | set(b)}
    return {k: v for k, v in out.items() if v}


def _kinds(counts: dict[tuple, int], twins: bool | None) -> list[dict[str, Any]]:
    rows = [
        {
            "datasets": [da, db],
            "usable_id": [ia, ib],
            **({} if twins is None else {"twins": twins}),
            "pairs": n,
        }
        for (da, ia, db, ib), n in counts.items()
    ]
    return rows


def person_confusion(conn: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """False-merge and missed person pairs by kind, with masked example pairs."""
    in_resident = _pairs_within(conn, ["resident_label"])
    in_cell = _pairs_within(conn, ["resident_label", "person_id"])
    in_resident_twins = _pairs_within(conn, ["resident_label", "twin_group"])
    in_person = _pairs_within(conn, ["person_id"])
    false_merges = _minus(in_resident, in_cell)
    twin_merges = _minus(in_resident_twins, in_cell)
    other_merges = _minus(false_merges, twin_merges)
    missed = _minus(in_person, in_cell)
    merge_kinds = _kinds(twin_merges, True) + _kinds(other_merges, False)
    missed_kinds = _kinds(missed, None)
    order = lambda r: (-r["pairs"], r["datasets"], r["usable_id"])  # noqa: E731
    return {
        "false_merges": {
            "pairs": sum(false_merges.values()),
            "twin_pairs": sum(twin_merges.values()),
            "by_kind": sorted(merge_kinds, key=order),
            "examples": _examples(conn, "false_merge"),
        },
        "missed": {
            "pairs": sum(missed.values()),
            "by_kind": sorted(missed_kinds, key=order),
            "examples": _examples(conn, "missed"),
        },
    }


def _examples(conn: duckdb.DuckDBPyConnection, error: str) -> list[dict[str, Any]]:
    """Up to EXAMPLES wrong pairs, spread over kinds (each kind's first before any's second).

    False merges pair, in each resident holding several persons, one record of its first person
    with one record of each other person; missed pairs pair, for each person spread over several
    clusters, one record of its first cluster with one of each other cluster. Within a kind the
    pairs are taken in a stable pseudo-random order (md5 of the cluster label).
    """
    group, split = (
        ("resident_label", "person_id")
        if error == "false_merge"
        else (
            "person_id",
            "resident_label",
        )
    )
    rows = conn.execute(
        f"""
        with wrong as (  -- the clusters holding an error: few, so the rest is cheap
            select {group} from ev_records group by {group} having count(distinct {split}) > 1
        ),
        reps as (
            select * from ev_records semi join wrong using ({group})
            qualify row_number() over (
                partition by {group}, {split} order by dataset, source_key) = 1
        ),
        firsts as (
            select * from reps
            qualify row_number() over (partition by {group} order by {split}) = 1
        ),
        pairs as (
            select f.dataset as da, f.source_key as ka, f.person_id as pa, f.resident_id as ra,
                   f.usable_id as ia, o.dataset as db, o.source_key as kb, o.person_id as pb,
                   o.resident_id as rb, o.usable_id as ib,
                   f.twin_group = o.twin_group and f.person_id <> o.person_id as twins,
                   md5(f.{group} || '|' || o.{split}) as h
            from firsts as f
            join reps as o on o.{group} = f.{group} and o.{split} <> f.{split}
        ),
        ranked as (
            select *, row_number() over (
                partition by least(da || ia, db || ib), greatest(da || ia, db || ib), twins
                order by h) as k
            from pairs
        )
        select da, ka, pa, ra, ia, db, kb, pb, rb, ib, twins
        from ranked
        order by k, h
        limit {EXAMPLES}
        """
    ).fetchall()

    def side(ds: str, key: str, person: str, resident: str | None, usable: bool) -> dict:
        return {
            "dataset": ds,
            "source_key": mask_text(key),
            "person_id": person,
            "resident_id": resident,
            "usable_id": usable,
        }

    out = []
    for da, ka, pa, ra, ia, db, kb, pb, rb, ib, twins in rows:
        example = {"a": side(da, ka, pa, ra, ia), "b": side(db, kb, pb, rb, ib)}
        if error == "false_merge":
            example["twins"] = twins
        out.append(example)
    return out
