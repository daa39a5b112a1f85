"""How well records are placed on buildings, measured against the generator's ground truth.

Each source record's address should land on the building the record really refers to
(records.csv ``building_truth_id``: the registered building for police_hukou, the building lived
in for the others). A record is *correct* when its building key is the true building's key,
*wrong* when it is keyed to another building (a false placement: the worse failure), and
*unplaced* when its address was flagged instead of placed.

The building table itself is measured too: a row of ``marts.building`` whose key is no true
building's is a building that does not exist (a mis-read address made it), which per-record
figures only see when a record of the truth lands on it.

The per-record building key is not part of the consumer contract (a resident carries only its
best record's building), so this reads the warehouse database's ``int_resident_records`` and
``int_addresses`` read-only, after a run, instead of the published Parquet.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from .evaluate_round import truth_rounds
from .settings import WarehouseLayout

TARGETS = {"correct_share": 0.995, "wrong_share": 0.001}
# the true building's key from buildings.csv, built the way the hub builds keys
_TRUE_KEY = "concat_ws('|', district, compound, regexp_extract(building_no, '\\d+'))"


@contextlib.contextmanager
def warehouse_snapshot(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a private copy of the warehouse database.

    A copy, as for the auditor's report, so an evaluation never holds the live file while a run
    wants to write it.
    """
    from .report import snapshot_connection

    with snapshot_connection(WarehouseLayout(warehouse)) as conn:
        if conn is None:
            raise FileNotFoundError(f"no warehouse database in {warehouse}: run siheyuan run first")
        yield conn


def fold_by_dataset(
    rows: list[tuple], n_counts: int, figures: Callable[..., dict[str, Any]]
) -> tuple[dict[str, Any], list[int], dict[str, int]]:
    """Per-dataset figures, summed counts and a summed status histogram.

    Each row is ``(dataset, count_1 … count_n, {status: count} or None)``, as the evaluation
    queries return them; ``figures`` turns counts into a dataset's figures.
    """
    by_dataset: dict[str, Any] = {}
    totals = [0] * n_counts
    statuses: dict[str, int] = {}
    for dataset, *counts, histogram in rows:
        by_dataset[dataset] = figures(*counts)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        for status, n in (histogram or {}).items():
            statuses[status] = statuses.get(status, 0) + n
    return by_dataset, totals, statuses


def truth_round_dir(truth_dir: Path) -> Path:
    """``truth_dir`` itself when it holds records.csv, else its latest ``round_<K>`` folder."""
    return truth_rounds(truth_dir)[-1].folder


def _shares(n: int, correct: int, wrong: int, unplaced: int, missing: int) -> dict[str, Any]:
    def share(k: int) -> float:
        return k / n if n else 0.0

    return {
        "records": n,
        "correct": correct,
        "wrong": wrong,
        "unplaced": unplaced,
        "missing": missing,
        "correct_share": share(correct),
        "wrong_share": share(wrong),
        "unplaced_share": share(unplaced),
    }


def evaluate_buildings(
    truth_dir: Path, warehouse: Path, conn: duckdb.DuckDBPyConnection | None = None
) -> dict[str, Any]:
    """Correct / wrong / unplaced building keys per dataset and overall (see module docstring).

    ``missing`` counts truth records the warehouse does not hold (quarantined or not ingested);
    they count as unplaced. The true key is built the way the hub builds keys:
    ``district|compound|building_no`` from buildings.csv. ``conn`` is an open connection to the
    warehouse database (or a copy of it); without one, a private copy is read.
    """
    truth = truth_round_dir(Path(truth_dir))
    if conn is None:
        with warehouse_snapshot(Path(warehouse)) as snap:
            return evaluate_buildings(truth, warehouse, snap)
    rows = conn.execute(
        f"""
        with t as (
            select dataset, source_key, building_truth_id
            from read_csv(?, all_varchar = true)
            -- a key delivered twice in a round (hr's _01 and _02): the warehouse holds the later
            qualify row_number() over (partition by dataset, source_key order by file_name desc) = 1
        ),
        b as (
            select building_truth_id, {_TRUE_KEY} as true_key
            from read_csv(?, all_varchar = true)
        ),
        j as (
            select t.dataset, b.true_key, r.building_key, r.source_key is null as missing,
                   a.parse_status
            from t
            left join b using (building_truth_id)
            left join intermediate.int_resident_records as r
                on r.source_dataset = t.dataset and r.source_key = t.source_key
            left join intermediate.int_addresses as a on a.address = r.address
        )
        select dataset,
               count(*),
               count(*) filter (where building_key = true_key),
               count(*) filter (where building_key <> true_key or
                                      (building_key is not null and true_key is null)),
               count(*) filter (where building_key is null),
               count(*) filter (where missing),
               histogram(coalesce(parse_status, 'no_address'))
                   filter (where building_key is null and not missing)
        from j
        group by dataset
        order by dataset
        """,
        [str(truth / "records.csv"), str(truth / "buildings.csv")],
    ).fetchall()
    by_dataset, totals, unplaced_status = fold_by_dataset(rows, 5, _shares)
    overall = _shares(*totals)
    table = building_table(truth, conn)
    return {
        "truth": str(truth),
        "warehouse": str(warehouse),
        **overall,
        "unplaced_by_status": dict(sorted(unplaced_status.items())),
        **table,
        "by_dataset": by_dataset,
        "targets": TARGETS,
        "meets_targets": overall["correct_share"] >= TARGETS["correct_share"]
        and overall["wrong_share"] < TARGETS["wrong_share"],
    }


def building_table(truth: Path, conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of the warehouse's building table, how many are no true building, the true count.

    ``truth`` is a round folder (buildings.csv); keys are compared as evaluate_buildings builds
    the true key.
    """
    (rows, not_true, true_buildings) = conn.execute(
        f"""
        with t as (
            select distinct {_TRUE_KEY} as true_key from read_csv(?, all_varchar = true)
        )
        select (select count(*) from marts.building),
               (select count(*) from marts.building
                where building_key not in (select true_key from t)),
               (select count(*) from t)
        """,
        [str(truth / "buildings.csv")],
    ).fetchone()
    return {
        "building_rows": rows,
        "building_rows_not_true": not_true,
        "true_buildings": true_buildings,
    }
