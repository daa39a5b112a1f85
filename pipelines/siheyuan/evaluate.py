"""How well a run standardised its input, measured against the generator's ground truth.

``siheyuan evaluate --truth DIR --warehouse DIR`` reads the truth a ``siheyuan generate`` wrote
beside the landing folder and the warehouse a ``siheyuan run`` built from that landing folder,
and reports figures an engineer can compare across releases:

* **ID numbers** — of the records whose delivered ID number can be brought to canonical form
  (present, and not carrying dirt that destroys information: a wrong check digit, two swapped
  digits, an Excel-mangled number), the share the hub did bring to the *true* number; and for
  those that cannot be recovered, how many the hub nevertheless turned into some number by
  changing digits (a guess — must be zero). Dirt that happens to yield another valid number (about
  one in eleven wrong digits passes MOD 11-2) is counted apart: no check can tell, so the number
  is kept as delivered; entity resolution is what catches it.
* **Buildings** — see ``evaluate_address``: correct, wrong and unplaced building keys.

Both compare with one round of the truth: the one asked for, else the latest round the warehouse
has applied (``evaluate_round``), named in the result.

It reads the warehouse database read-only (per-record standardised values are intermediate
tables, not part of the consumer contract), so it must not run while a run holds the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from .evaluate_address import (
    evaluate_buildings,
    fold_by_dataset,
    truth_round_dir,
    warehouse_snapshot,
)
from .evaluate_round import choose_round

#: Dirt kinds after which the true number cannot be recovered without guessing.
UNRECOVERABLE_ID_DIRT = ("id_bad_check", "id_transposed", "id_excel_numeric")

#: The delivered column holding a record's own ID number, per dataset (dirt.csv names columns).
ID_COLUMNS = {
    "police_hukou": "公民身份号码",
    "police_floating": "证件号码",
    "civil_assistance": "身份证号",
    "health_records": "id_no",
    "hr_insured": "社会保障号码",
}

ID_TARGETS = {"recoverable_canonical_share": 1.0, "unrecoverable_guessed": 0}


def evaluate_id_numbers(
    truth_dir: Path, warehouse: Path, conn: duckdb.DuckDBPyConnection | None = None
) -> dict[str, Any]:
    """Recoverable IDs brought to the true canonical number; unrecoverable ones never guessed."""
    truth = truth_round_dir(Path(truth_dir))
    if conn is None:
        with warehouse_snapshot(Path(warehouse)) as snap:
            return evaluate_id_numbers(truth, warehouse, snap)
    id_columns = ", ".join(f"('{d}', '{c}')" for d, c in ID_COLUMNS.items())
    bad_kinds = ", ".join(f"'{k}'" for k in UNRECOVERABLE_ID_DIRT)
    rows = conn.execute(
        f"""
        with t as (
            select dataset, source_key, file_name, nullif(true_id_number, '') as true_id
            from read_csv(?, all_varchar = true)
            -- a key delivered twice in a round (hr's _01 and _02): the warehouse holds the later
            qualify row_number() over (partition by dataset, source_key order by file_name desc) = 1
        ),
        id_col(dataset, column_name) as (values {id_columns}),
        spoiled as (
            select distinct d.dataset, d.source_key, d.file_name
            from read_csv(?, all_varchar = true) as d
            join id_col as c on c.dataset = d.dataset and c.column_name = d."column"
            where d.dirt_kind in ({bad_kinds})
        ),
        j as (
            select
                t.dataset,
                t.true_id,
                s.source_key is not null as spoiled,
                r.source_key is null as missing,
                nullif(trim(r.id_number_raw), '') is null as delivered_empty,
                r.id_number,
                r.id_number_status
            from t
            left join spoiled as s using (dataset, source_key, file_name)
            left join intermediate.int_person_records as r
                on r.source_dataset = t.dataset and r.source_key = t.source_key
            where t.true_id is not null
        )
        select
            dataset,
            count(*) filter (where not missing and not delivered_empty and not spoiled),
            count(*) filter (where not missing and not delivered_empty and not spoiled
                               and id_number = true_id),
            count(*) filter (where not missing and not delivered_empty and not spoiled
                               and id_number is not null and id_number <> true_id),
            count(*) filter (where not missing and not delivered_empty and spoiled),
            count(*) filter (where not missing and not delivered_empty and spoiled
                               and id_number is not null
                               and id_number_status not in ('valid', 'converted_15')),
            count(*) filter (where not missing and not delivered_empty and spoiled
                               and id_number_status = 'valid'),
            count(*) filter (where missing),
            histogram(id_number_status) filter (where not missing and not delivered_empty
                                                  and not spoiled and id_number is null)
        from j
        group by dataset
        order by dataset
        """,
        [str(truth / "records.csv"), str(truth / "dirt.csv")],
    ).fetchall()
    by_dataset, totals, missed_status = fold_by_dataset(rows, 7, _id_figures)
    overall = _id_figures(*totals)
    return {
        "truth": str(truth),
        **overall,
        "not_canonical_by_status": dict(sorted(missed_status.items())),
        "by_dataset": by_dataset,
        "targets": ID_TARGETS,
        "meets_targets": overall["recoverable_canonical_share"]
        >= ID_TARGETS["recoverable_canonical_share"]
        and overall["unrecoverable_guessed"] == ID_TARGETS["unrecoverable_guessed"]
        and overall["recoverable_wrong"] == 0,
    }


def _id_figures(
    recoverable: int,
    canonical: int,
    wrong: int,
    spoiled: int,
    guessed: int,
    by_chance: int,
    missing: int,
) -> dict[str, Any]:
    return {
        "recoverable": recoverable,
        "recoverable_canonical": canonical,
        "recoverable_wrong": wrong,
        "recoverable_canonical_share": canonical / recoverable if recoverable else 1.0,
        "unrecoverable": spoiled,
        "unrecoverable_guessed": guessed,
        "unrecoverable_valid_by_chance": by_chance,
        "records_not_in_warehouse": missing,
    }


def evaluate(truth_dir: Path, warehouse: Path, round_no: int | None = None) -> dict[str, Any]:
    """Every measure, as one JSON-ready document, against one round of the truth.

    The round is ``round_no`` when given, else the latest the warehouse has applied (see
    ``evaluate_round``); ``RoundNotApplied`` when the warehouse does not hold it.
    """
    with warehouse_snapshot(Path(warehouse)) as conn:
        choice = choose_round(Path(truth_dir), conn, round_no)
        ids = evaluate_id_numbers(choice.round.folder, warehouse, conn)
        buildings = evaluate_buildings(choice.round.folder, warehouse, conn)
    return {
        "truth": ids.pop("truth"),
        "round": choice.round.number,
        "round_chosen": choice.chosen,  # requested | latest applied
        "round_notes": choice.notes,
        "warehouse": str(warehouse),
        "id_numbers": ids,
        "buildings": {k: v for k, v in buildings.items() if k not in ("truth", "warehouse")},
        "meets_targets": ids["meets_targets"] and buildings["meets_targets"],
    }


def format_text(result: dict[str, Any]) -> str:
    """The measures as a short plain-text table for the terminal."""
    ids, b = result["id_numbers"], result["buildings"]
    left_out = ids["unrecoverable"] - ids["unrecoverable_guessed"]
    left_out -= ids["unrecoverable_valid_by_chance"]
    lines = [
        f"truth: {result['truth']}",
        f"round: {result['round']} ({result['round_chosen']})",
        *(f"  note: {note}" for note in result["round_notes"]),
        f"warehouse: {result['warehouse']}",
        "",
        "ID numbers (GB 11643)",
        f"  recoverable brought to the true number  {ids['recoverable_canonical']:>9,} / "
        f"{ids['recoverable']:,}  {ids['recoverable_canonical_share']:.4%}  (target 100 %)",
        f"  recoverable given a wrong number        {ids['recoverable_wrong']:>9,}",
        f"  unrecoverable left without a number     {left_out:>9,} / {ids['unrecoverable']:,}",
        f"  unrecoverable guessed                   {ids['unrecoverable_guessed']:>9,}  (target 0)",
        f"  spoiled into another valid number       {ids['unrecoverable_valid_by_chance']:>9,}"
        "  (no check digit can tell; kept as delivered)",
    ]
    if ids["not_canonical_by_status"]:
        lines.append(
            f"  recoverable but not canonical, by status: {ids['not_canonical_by_status']}"
        )
    lines += [
        "",
        "Buildings (record address -> building key)",
        f"  correct    {b['correct']:>9,} / {b['records']:,}  {b['correct_share']:.4%}"
        "  (target >= 99.5 %)",
        f"  wrong      {b['wrong']:>9,}  {b['wrong_share']:.4%}  (target < 0.1 %)",
        f"  unplaced   {b['unplaced']:>9,}  {b['unplaced_share']:.4%}",
    ]
    if "building_rows" in b:
        lines.append(
            f"  building table {b['building_rows']:,} rows, {b['building_rows_not_true']:,} not a"
            f" true building (true buildings: {b['true_buildings']:,})"
        )
    if b.get("unplaced_by_status"):
        lines.append(f"  unplaced by status: {b['unplaced_by_status']}")
    lines += ["", "  dataset            IDs canonical    buildings correct  wrong"]
    for ds in sorted(set(ids["by_dataset"]) | set(b["by_dataset"])):
        i = ids["by_dataset"].get(ds)
        d = b["by_dataset"].get(ds)
        id_part = f"{i['recoverable_canonical_share']:>12.4%}" if i else f"{'-':>12}"
        b_part = f"{d['correct_share']:>12.4%}  {d['wrong_share']:.4%}" if d else ""
        lines.append(f"  {ds:<18} {id_part}    {b_part}")
    lines += ["", "meets targets: " + ("yes" if result["meets_targets"] else "NO")]
    return "\n".join(lines)
