"""``siheyuan explain RESIDENT_ID``: every source record of a resident and why it is there.

For each record: the rule that linked it (the shared valid ID number, the Splink model, a
steward's decision, or none — a singleton), and for a probabilistic link the waterfall of the
edge that attached it: the prior, then each comparison's level and match weight, summing to the
pair's match weight (Splink's waterfall data, kept by the run in int_person_match_pairs). Any
steward decision touching the records, and any open review item, is listed too. The lineage
section says, for every published attribute, which record gave the value and by which
survivorship rule (marts.resident_attribute_lineage) and, where the records disagree, every
value they offered (marts.resident_attribute_conflict). ID numbers and phones are masked, as
everywhere the hub shows a person.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb

from siheyuan.linking.predict import load_model
from siheyuan.quality.privacy import mask_phone
from siheyuan.report import snapshot_connection
from siheyuan.review import decisions_for, describe_record, fetch_dicts
from siheyuan.settings import WarehouseLayout
from siheyuan.standardise.id_number import mask_id_number
from siheyuan.warehouse import table_exists

_RULE_TEXT = {
    "id_number": "the same valid citizen ID number as the resident's other records",
    "probabilistic": "the Splink model (waterfall below)",
    "steward": "a data steward's must-link decision",
    "singleton": "nothing: it is the resident's only record",
    "held_id_conflict": "held apart: it contradicts the ID number it carries (see review)",
}


def level_weights(model: dict[str, Any]) -> dict[str, list[tuple[str, float]]]:
    """Per comparison, each non-null level's label and match weight log2(m/u)."""
    out: dict[str, list[tuple[str, float]]] = {}
    for comp in model["comparisons"]:
        levels = []
        for lvl in comp["comparison_levels"]:
            if lvl.get("is_null_level"):
                continue
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            if m and u:
                levels.append((lvl["label_for_charts"], math.log2(m / u)))
        out[comp["output_column_name"]] = levels
    return out


def label_for(levels: list[tuple[str, float]], weight: float | None) -> str:
    """The level whose weight this is (0 with nothing to compare is the null level)."""
    if weight is None:
        return "not compared"
    best = min(levels, key=lambda lv: abs(lv[1] - weight), default=None)
    if best is None or abs(best[1] - weight) > 1e-3:
        return "nothing to compare" if abs(weight) < 1e-9 else "adjusted"
    return best[0]


def waterfall(pair: dict[str, Any], model: dict[str, Any]) -> list[dict[str, Any]]:
    """Prior, then each comparison (its level and weight), as stored for the pair."""
    prior = model["probability_two_random_records_match"]
    rows = [
        {"step": "prior", "level": "two random records", "weight": math.log2(prior / (1 - prior))}
    ]
    levels = level_weights(model)
    for name, lv in levels.items():
        w = pair.get(f"mw_{name}")
        rows.append({"step": name, "level": label_for(lv, w), "weight": w})
        if name == "name" and pair.get("mw_tf_adj_name"):
            rows.append(
                {
                    "step": "name frequency",
                    "level": "how common the name is",
                    "weight": pair["mw_tf_adj_name"],
                }
            )
    rows.append({"step": "total", "level": "match weight", "weight": pair["match_weight"]})
    for r in rows:
        if r["weight"] is not None:
            r["weight"] = round(float(r["weight"]), 3)
    return rows


# attributes whose value is never shown in clear: lineage does not copy it, explain masks it
_MASKS = {"id_number": mask_id_number, "phone_e164": mask_phone}


def _shown(attribute: str, value: Any) -> Any:
    """The value as explain shows it: masked for ID numbers and phones, dates as ISO text."""
    if value is None:
        return None
    if attribute in _MASKS:
        return _MASKS[attribute](str(value))
    return value.isoformat() if hasattr(value, "isoformat") else value


def lineage(conn: duckdb.DuckDBPyConnection, resident_id: str) -> list[dict[str, Any]]:
    """Per published attribute: the value (masked where sensitive), the record that gave it,
    the business date the rule read, the rule, and the values the records disagree on.

    Empty when the warehouse predates survivorship lineage (no lineage mart yet).
    """
    if not table_exists(conn, "marts", "resident_attribute_lineage"):
        return []
    resident = fetch_dicts(
        conn, "select * from marts.resident where resident_id = ?", [resident_id]
    )
    published = resident[0] if resident else {}
    rows = fetch_dicts(
        conn,
        "select attribute, value, value_origin, source_dataset, source_key, batch_id, "
        "business_date, rule, candidate_count, distinct_value_count "
        "from marts.resident_attribute_lineage where resident_id = ? order by attribute",
        [resident_id],
    )
    conflicts: dict[str, list[dict[str, Any]]] = {}
    if table_exists(conn, "marts", "resident_attribute_conflict"):
        for c in fetch_dicts(
            conn,
            "select attribute, value, value_no, source_dataset, source_key, business_date, "
            "record_status, rule_rank, is_survivor from marts.resident_attribute_conflict "
            "where resident_id = ? order by attribute, rule_rank",
            [resident_id],
        ):
            conflicts.setdefault(c["attribute"], []).append(
                {
                    "value": c["value"],  # masked in the mart already for ID numbers and phones
                    "value_no": c["value_no"],
                    "dataset": c["source_dataset"],
                    "source_key": describe_record(c)["source_key"],
                    "business_date": _shown("", c["business_date"]),
                    "record_status": c["record_status"],
                    "rank": c["rule_rank"],
                    "survivor": c["is_survivor"],
                }
            )
    out = []
    for r in rows:
        attribute = r["attribute"]
        value = published.get(attribute, r["value"]) if attribute in _MASKS else r["value"]
        out.append(
            {
                "attribute": attribute,
                "value": _shown(attribute, value),
                "from_id_number": r["value_origin"] == "id_number",
                "dataset": r["source_dataset"],
                "source_key": describe_record(r)["source_key"],
                "batch_id": r["batch_id"],
                "business_date": _shown("", r["business_date"]),
                "rule": r["rule"],
                "candidates": r["candidate_count"],
                "distinct_values": r["distinct_value_count"],
                "conflicts": conflicts.get(attribute, []),
            }
        )
    return out


def explain(layout: WarehouseLayout, resident_id: str) -> dict[str, Any]:
    """The resident, its records with their link rule and waterfall, decisions, open reviews."""
    with snapshot_connection(layout) as conn:
        if conn is None or not table_exists(conn, "intermediate", "int_person_clusters"):
            raise FileNotFoundError(f"no linked residents in {layout.root}: run siheyuan run first")
        return _explain(conn, resident_id)


def _explain(conn: duckdb.DuckDBPyConnection, resident_id: str) -> dict[str, Any]:
    resident = fetch_dicts(
        conn,
        "select resident_id, name, sex_code, birth_date, status, household_id, building_id, "
        "source_record_count, source_datasets from marts.resident where resident_id = ?",
        [resident_id],
    )
    if not resident:
        raise LookupError(f"{resident_id}: no such resident in the current version")
    records = fetch_dicts(
        conn,
        "select r.*, f.link_id from intermediate.int_resident_records as r "
        "join intermediate.int_person_link_features as f "
        "on f.source_dataset = r.source_dataset and f.source_key = r.source_key "
        "where r.resident_id = ? order by r.survivor_rank",
        [resident_id],
    )
    model = load_model()
    out_records = []
    for r in records:
        entry = describe_record(r)
        entry["link_rule_means"] = _RULE_TEXT.get(r["link_rule"], r["link_rule"])
        if r["link_rule"] == "probabilistic" and r.get("linked_to_key") is not None:
            other = fetch_dicts(
                conn,
                "select link_id from intermediate.int_person_link_features "
                "where source_dataset = ? and source_key = ?",
                [r["linked_to_dataset"], r["linked_to_key"]],
            )
            if other:
                a, b = sorted((r["link_id"], other[0]["link_id"]))
                pair = fetch_dicts(
                    conn,
                    "select * from intermediate.int_person_match_pairs "
                    "where link_id_l = ? and link_id_r = ?",
                    [a, b],
                )
                entry["linked_to"] = {
                    "dataset": r["linked_to_dataset"],
                    "source_key": describe_record(
                        {"source_dataset": r["linked_to_dataset"], "source_key": r["linked_to_key"]}
                    )["source_key"],
                }
                if pair:
                    entry["waterfall"] = waterfall(pair[0], model)
        out_records.append(entry)
    reviews = (
        fetch_dicts(
            conn,
            "select pair_id, reason, match_weight, left_dataset, left_key, right_dataset, "
            "right_key "
            "from marts.review_queue where left_resident_id = ? or right_resident_id = ?",
            [resident_id, resident_id],
        )
        if table_exists(conn, "marts", "review_queue")
        else []
    )
    for item in reviews:
        for side in ("left_key", "right_key"):
            item[side] = describe_record({"source_dataset": "", "source_key": item[side]})[
                "source_key"
            ]
    person = resident[0]
    if person.get("birth_date"):
        person["birth_date"] = person["birth_date"].isoformat()
    return {
        "resident": person,
        "records": out_records,
        "decisions": decisions_for(conn, [(r["source_dataset"], r["source_key"]) for r in records]),
        "open_reviews": reviews,
        "lineage": lineage(conn, resident_id),
    }


def format_text(result: dict[str, Any]) -> str:
    """The explanation as a steward reads it on a terminal."""
    p = result["resident"]
    lines = [
        f"resident {p['resident_id']}: {p['name']}, sex {p['sex_code']}, born {p['birth_date']}, "
        f"{p['status']}; {p['source_record_count']} record(s) from {p['source_datasets']}",
        "",
    ]
    for i, r in enumerate(result["records"], 1):
        lines.append(
            f"{i}. {r['dataset']} {r['source_key']}  {r['name']}  born {r['birth_date']}  "
            f"sex {r['sex_code']}  ID {r['id_number'] or '-'} ({r['id_number_status']})  "
            f"[{r['record_status']}]"
        )
        lines.append(f"   linked by {r['link_rule']}: {r['link_rule_means']}")
        if "linked_to" in r:
            lines.append(
                f"   attached to {r['linked_to']['dataset']} {r['linked_to']['source_key']}"
            )
        for step in r.get("waterfall", []):
            w = "" if step["weight"] is None else f"{step['weight']:+8.2f}"
            lines.append(f"     {step['step']:<16} {w:>9}  {step['level']}")
    if result.get("lineage"):
        lines += ["", "where each value came from (survivorship):"]
        for a in result["lineage"]:
            origin = " (read from its ID number)" if a["from_id_number"] else ""
            dated = f", dated {a['business_date']}" if a["business_date"] else ""
            lines.append(
                f"  {a['attribute']:<22} {a['value']!s:<20} {a['dataset']} {a['source_key']}"
                f"{origin}{dated}; rule {a['rule']}; batch {a['batch_id']}"
            )
            if a["conflicts"]:
                offered = "; ".join(
                    f"{c['value']} from {c['dataset']} {c['source_key']}"
                    + (f" ({c['business_date']})" if c["business_date"] else "")
                    + (" <- kept" if c["survivor"] else "")
                    for c in a["conflicts"]
                )
                lines.append(f"  {'':<22} records disagree: {offered}")
    if result["decisions"]:
        lines += ["", "steward decisions:"]
        for d in result["decisions"]:
            lines.append(
                f"  {d['pair_id']} {d['decision']} by {d['decided_by']} at {d['decided_at']}: "
                f"{d['reason']}"
            )
    if result["open_reviews"]:
        lines += ["", "open review items:"]
        for item in result["open_reviews"]:
            lines.append(
                f"  {item['pair_id']} {item['reason']} (weight {item['match_weight']}): "
                f"{item['left_dataset']} {item['left_key']} ~ "
                f"{item['right_dataset']} {item['right_key']}"
            )
    return "\n".join(lines)
