"""How well a run standardised and linked its input, measured against the generator's truth.

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
* **Linking** — see ``evaluate_linking``: person pairwise and B-cubed precision / recall / F1
  over source records, household and building pairwise F1, residents with their true canonical
  ID number, and which kinds of record pairs are falsely merged or missed.

All compare with one round of the truth: the one asked for, else the latest round the warehouse
has applied (``evaluate_round``), named in the result.

The figures are one JSON document, also written to ``<warehouse>/reports/evaluate-round<K>.json``
(``json_path``) so releases can be compared. docs/evaluation.md defines every figure.

It reads the warehouse database read-only (per-record standardised values are intermediate
tables, not part of the consumer contract), so it must not run while a run holds the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from . import evaluate_linking as linking
from .evaluate_address import (
    evaluate_buildings,
    fold_by_dataset,
    truth_round_dir,
    warehouse_snapshot,
)
from .evaluate_round import choose_round
from .evaluate_stability import evaluate_stability
from .evaluate_stability import format_lines as stability_lines

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
        linked = linking.evaluate_linking(choice.round.folder, conn)
        stability = (
            evaluate_stability(Path(truth_dir), Path(warehouse), conn, choice.round.number)
            if choice.round.number > 1
            else {"measured": False, "reason": "round 1 has no earlier round to compare with"}
        )
    return {
        "truth": ids.pop("truth"),
        "round": choice.round.number,
        "round_chosen": choice.chosen,  # requested | latest applied
        "round_notes": choice.notes,
        "warehouse": str(warehouse),
        "id_numbers": ids,
        "buildings": {k: v for k, v in buildings.items() if k not in ("truth", "warehouse")},
        "linking": linked,
        "stability": stability,
        "meets_targets": ids["meets_targets"]
        and buildings["meets_targets"]
        and linked["meets_targets"]
        and stability.get("meets_targets", True),
    }


def json_path(warehouse: Path, round_no: int) -> Path:
    """Where an evaluation's JSON is kept by default: beside the warehouse's other reports."""
    return Path(warehouse) / "reports" / f"evaluate-round{round_no}.json"


def write_json(result: dict[str, Any], path: Path) -> Path:
    """Write the figures as UTF-8 JSON (parents created); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def format_text(result: dict[str, Any], details: bool = False) -> str:
    """The measures as a short plain-text table for the terminal.

    ``details`` adds the confusion: false-merge and missed pairs by kind, and example pairs.
    """
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
    if "linking" in result:
        lines += ["", *_linking_lines(result["linking"], details)]
    if "stability" in result:
        lines += ["", *stability_lines(result["stability"])]
    lines += ["", "meets targets: " + ("yes" if result["meets_targets"] else "NO")]
    return "\n".join(lines)


def _pct(x: float) -> str:
    return f"{x:.4%}"


def _linking_lines(link: dict[str, Any], details: bool) -> list[str]:
    p, h, b = link["persons"], link["households"], link["buildings"]
    t = link["targets"]
    c, conf = link["canonical_ids"], link["confusion"]
    fm, missed = conf["false_merges"], conf["missed"]

    def row(label: str, records: int, fig: dict[str, Any], target: str) -> str:
        return (
            f"  {label:<18} {records:>10,}  {_pct(fig['precision']):>10}  {_pct(fig['recall']):>10}"
            f"  {_pct(fig['f1']):>10}  {target}"
        ).rstrip()

    lines = [
        "Linking (pairs of source records)",
        f"  {'':<18} {'records':>10}  {'precision':>10}  {'recall':>10}  {'F1':>10}  target",
        row(
            "persons",
            p["records"],
            p["pairwise"],
            f"F1 >= {t['person_pairwise_f1']:.1%}, precision >= "
            f"{t['person_pairwise_precision']:.1%}",
        ),
        row("persons B-cubed", p["records"], p["bcubed"], ""),
        row("households", h["records"], h["pairwise"], f"F1 >= {t['household_pairwise_f1']:.1%}"),
        row("buildings", b["records"], b["pairwise"], f"F1 >= {t['building_pairwise_f1']:.1%}"),
        f"  residents {p['predicted_clusters']:,} for {p['true_clusters']:,} true persons;"
        f" truth records not in the xref (singletons): {p['records_not_in_xref']:,}",
        f"  false-merge pairs {fm['pairs']:,} (twins {fm['twin_pairs']:,});"
        f" missed pairs {missed['pairs']:,}",
        f"  residents with their true ID number {c['correct']:>9,} / {c['residents']:,}"
        f"  {_pct(c['correct_share'])}  (wrong {c['wrong']:,}, missing {c['missing']:,})",
    ]
    if not details:
        if fm["pairs"] or missed["pairs"]:
            lines.append("  (--details: the kinds of pairs still wrong, with examples)")
        return lines
    for title, part in (("False merges", fm), ("Missed pairs", missed)):
        lines += ["", f"{title} by kind (datasets, usable ID each side)"]
        if not part["by_kind"]:
            lines.append("  none")
        for k in part["by_kind"]:
            ids = "/".join("ID" if u else "no ID" for u in k["usable_id"])
            twins = "  twins" if k.get("twins") else ""
            lines.append(f"  {k['pairs']:>9,}  {' + '.join(k['datasets']):<34} {ids}{twins}")
        if part["examples"]:
            lines.append(f"  examples ({len(part['examples'])}):")
        for e in part["examples"]:
            a, z = e["a"], e["b"]
            lines.append(
                f"    {a['dataset']} {a['source_key']} ({a['person_id']}, "
                f"{a['resident_id'] or 'singleton'})  ~  {z['dataset']} {z['source_key']} "
                f"({z['person_id']}, {z['resident_id'] or 'singleton'})"
                + ("  twins" if e.get("twins") else "")
            )
    return lines
