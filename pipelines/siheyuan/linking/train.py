"""Train the person-matching model on a warehouse's person records; write it as JSON.

Unsupervised, as real departments have no labels: the prior (how likely two random records are
the same person) from the records that share a valid ID number, u probabilities from random
record pairs, m probabilities by expectation maximisation on pairs blocked by
``TRAINING_BLOCKING_RULES``. No ground truth is read, so training on a real warehouse works the
same way as on generated data. One DuckDB thread and a fixed sampling seed make a re-train on the
same warehouse write a byte-identical file (``siheyuan train`` checks nothing else in).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from siheyuan.linking.model import TRAINING_BLOCKING_RULES, settings
from siheyuan.linking.predict import MODEL_PATH, splink_linker

#: Random pairs sampled to estimate u probabilities (more is steadier, slower).
U_SAMPLE_PAIRS = 5_000_000
SEED = 7


def read_features(database: Path) -> pa.Table:
    """int_person_link_features of a warehouse database (opened read-only), in link_id order.

    The order is asked for: random sampling for u depends on it, and the table's own row order
    is not fixed (a re-train of the same warehouse must write the same file).
    """
    with duckdb.connect(str(database), read_only=True) as conn:
        return conn.sql(
            "select * from intermediate.int_person_link_features order by link_id"
        ).to_arrow_table()


def prior_from_ids(features: pa.Table) -> float:
    """P(two random records are the same person), from records that share a valid ID number."""
    conn = duckdb.connect()
    try:
        conn.register("f", features)
        row = conn.execute(
            "with g as (select count(*) as n from f where id_number is not null group by id_number)"
            ", t as (select count(*) as n from f) "
            "select (select sum(n * (n - 1) / 2) from g), (select n from t)"
        ).fetchone()
    finally:
        conn.close()
    linked, total = float(row[0] or 0), float(row[1] or 0)
    all_pairs = total * (total - 1) / 2
    return max(linked / all_pairs, 1e-9) if all_pairs else 1e-6


def apply_floors(model: dict[str, Any], m_floor: dict[str, float]) -> dict[str, Any]:
    """Raise the listed levels' m to their floor, scale the others; give unseen levels a tiny u.

    ``m_floor`` keys are ``comparison/level label`` (linking.yml). A level the random sample
    never hit gets u = half a pair in the sample: rarer than anything observed, never zero.
    """
    known = {
        f"{c['output_column_name']}/{lvl['label_for_charts']}"
        for c in model["comparisons"]
        for lvl in c["comparison_levels"]
    }
    unknown = sorted(set(m_floor) - known)
    if unknown:
        raise ValueError(f"m_floor names levels the model does not have: {', '.join(unknown)}")
    for comp in model["comparisons"]:
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        raised, rest = [], []
        for lvl in levels:
            floor = m_floor.get(f"{comp['output_column_name']}/{lvl['label_for_charts']}", 0.0)
            m = max(lvl.get("m_probability") or 0.0, 1e-6)
            (raised if floor > m else rest).append(lvl)
            lvl["m_probability"] = max(m, floor)
            if lvl.get("u_probability") is None:
                lvl["u_probability"] = 0.5 / U_SAMPLE_PAIRS
        # the raised levels keep their floor; the others share what is left, as trained
        left = 1.0 - sum(lvl["m_probability"] for lvl in raised)
        total = sum(lvl["m_probability"] for lvl in rest)
        for lvl in rest:
            lvl["m_probability"] = lvl["m_probability"] * left / total
    return model


def train(features: pa.Table, m_floor: dict[str, float] | None = None) -> dict[str, Any]:
    """The trained model (a Splink settings dict with m and u probabilities)."""
    model = settings(prior_from_ids(features))
    with splink_linker(features, model, threads=1) as (linker, _):
        linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=SEED)
        for rule in TRAINING_BLOCKING_RULES:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_probability_two_random_records_match=True
            )
        trained = linker.misc.save_model_to_json(out_path=None)
    return apply_floors(trained, m_floor or {})


def write_model(model: dict[str, Any], path: Path = MODEL_PATH) -> Path:
    path.write_text(json.dumps(model, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
