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

With a version (``--version v000003``) the resident, its records' link rules, the lineage and
the conflicts are read from that version's Parquet files (``published/<version>/``), so a
department can ask why a resident looked the way it did in the version it consumed. The link
evidence (record details, pair waterfalls, steward decisions, open reviews) exists only in the
warehouse and is shown as it is *now*; the result says so (``evidence``: ``current``).
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


def lineage(
    conn: duckdb.DuckDBPyConnection, resident_id: str, marts: str = "marts"
) -> list[dict[str, Any]]:
    """Per published attribute: the value (masked where sensitive), the record that gave it,
    the business date the rule read, the rule, and the values the records disagree on.

    Empty when the warehouse predates survivorship lineage (no lineage mart yet).
    """
    if not table_exists(conn, marts, "resident_attribute_lineage"):
        return []
    resident = fetch_dicts(
        conn, f"select * from {marts}.resident where resident_id = ?", [resident_id]
    )
    published = resident[0] if resident else {}
    rows = fetch_dicts(
        conn,
        "select attribute, value, value_origin, source_dataset, source_key, batch_id, "
        "business_date, rule, candidate_count, distinct_value_count "
        f"from {marts}.resident_attribute_lineage where resident_id = ? order by attribute",
        [resident_id],
    )
    conflicts: dict[str, list[dict[str, Any]]] = {}
    if table_exists(conn, marts, "resident_attribute_conflict"):
        for c in fetch_dicts(
            conn,
            "select attribute, value, value_no, source_dataset, source_key, business_date, "
            f"record_status, rule_rank, is_survivor from {marts}.resident_attribute_conflict "
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


# published tables explain reads from a version's folder (the rest is link evidence)
VERSION_TABLES = (
    "resident",
    "resident_source_xref",
    "resident_attribute_lineage",
    "resident_attribute_conflict",
)
VERSION_SCHEMA = "published_version"


def attach_version(conn: duckdb.DuckDBPyConnection, layout: WarehouseLayout, version: str) -> str:
    """Views over ``published/<version>/*.parquet`` in the (private, writable) snapshot; the
    schema name. A version pruned or never published is a ``LookupError`` naming those kept."""
    folder = layout.published / version
    if not version.startswith("v") or not (folder / "resident.parquet").is_file():
        kept = sorted(
            p.name
            for p in (layout.published.iterdir() if layout.published.exists() else [])
            if p.is_dir() and p.name.startswith("v")
        )
        raise LookupError(
            f"no published version {version!r} in {layout.root} (kept: {', '.join(kept) or 'none'})"
        )
    conn.execute(f"create schema if not exists {VERSION_SCHEMA}")
    for table in VERSION_TABLES:
        path = folder / f"{table}.parquet"
        if path.is_file():
            conn.execute(
                f'create or replace view {VERSION_SCHEMA}."{table}" as '
                f"select * from read_parquet('{path.as_posix()}')"
            )
    return VERSION_SCHEMA


def explain(
    layout: WarehouseLayout, resident_id: str, version: str | None = None
) -> dict[str, Any]:
    """The resident, its records with their link rule and waterfall, decisions, open reviews;
    with ``version``, as that published version had it."""
    with snapshot_connection(layout) as conn:
        if conn is None or not table_exists(conn, "intermediate", "int_person_clusters"):
            raise FileNotFoundError(f"no linked residents in {layout.root}: run siheyuan run first")
        if version is None:
            return _explain(conn, resident_id)
        return _explain(conn, resident_id, attach_version(conn, layout, version), version)


def _explain(
    conn: duckdb.DuckDBPyConnection,
    resident_id: str,
    marts: str = "marts",
    version: str | None = None,
) -> dict[str, Any]:
    resident = fetch_dicts(
        conn,
        "select resident_id, name, sex_code, birth_date, status, household_id, building_id, "
        f"source_record_count, source_datasets from {marts}.resident where resident_id = ?",
        [resident_id],
    )
    if not resident:
        where = f"version {version}" if version else "the current version"
        raise LookupError(f"{resident_id}: no such resident in {where}")
    if version is None:
        records = fetch_dicts(
            conn,
            "select r.*, f.link_id from intermediate.int_resident_records as r "
            "join intermediate.int_person_link_features as f "
            "on f.source_dataset = r.source_dataset and f.source_key = r.source_key "
            "where r.resident_id = ? order by r.survivor_rank",
            [resident_id],
        )
    else:
        # the version's records and link rules; the details of each record as the warehouse
        # holds them now (a record since gone from the sources keeps only what the xref says)
        records = fetch_dicts(
            conn,
            "select r.* exclude (source_dataset, source_key, resident_id, link_rule, "
            "link_match_weight, record_status), x.source_dataset, x.source_key, x.resident_id, "
            "x.link_rule, x.link_match_weight, x.record_status, f.link_id, "
            "r.resident_id as current_resident_id "
            f"from {marts}.resident_source_xref as x "
            "left join intermediate.int_resident_records as r "
            "on r.source_dataset = x.source_dataset and r.source_key = x.source_key "
            "left join intermediate.int_person_link_features as f "
            "on f.source_dataset = x.source_dataset and f.source_key = x.source_key "
            "where x.resident_id = ? "
            "order by r.survivor_rank nulls last, x.source_dataset, x.source_key",
            [resident_id],
        )
    model = load_model()
    out_records = []
    for r in records:
        entry = describe_record(r)
        entry["link_rule_means"] = _RULE_TEXT.get(r["link_rule"], r["link_rule"])
        if version is not None:
            entry["resident_id_now"] = r.get("current_resident_id")
        if (
            r["link_rule"] == "probabilistic"
            and r.get("linked_to_key") is not None
            and r.get("link_id") is not None
        ):
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
        "version": version,  # null: the live marts (the current version)
        # the link evidence (record details, waterfalls, decisions, reviews) is always the
        # warehouse's current one, also when the published tables are a version's
        "evidence": "current",
        "resident": person,
        "records": out_records,
        "decisions": decisions_for(conn, [(r["source_dataset"], r["source_key"]) for r in records]),
        "open_reviews": reviews,
        "lineage": lineage(conn, resident_id, marts),
    }


def format_text(result: dict[str, Any]) -> str:
    """The explanation as a steward reads it on a terminal."""
    p = result["resident"]
    lines = [
        f"resident {p['resident_id']}: {p['name']}, sex {p['sex_code']}, born {p['birth_date']}, "
        f"{p['status']}; {p['source_record_count']} record(s) from {p['source_datasets']}",
        "",
    ]
    if result.get("version"):
        lines[1:1] = [
            f"as published in {result['version']}; record details, link evidence, decisions "
            "and open reviews are the warehouse's current ones"
        ]
    for i, r in enumerate(result["records"], 1):
        lines.append(
            f"{i}. {r['dataset']} {r['source_key']}  {r['name']}  born {r['birth_date']}  "
            f"sex {r['sex_code']}  ID {r['id_number'] or '-'} ({r['id_number_status']})  "
            f"[{r['record_status']}]"
        )
        lines.append(f"   linked by {r['link_rule']}: {r['link_rule_means']}")
        if result.get("version") and r.get("resident_id_now") != p["resident_id"]:
            now = r.get("resident_id_now") or "no longer in the warehouse"
            lines.append(f"   now: {now}")
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
