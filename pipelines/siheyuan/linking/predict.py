"""Score candidate pairs of person records with the trained Splink model.

Splink runs on the backend ``linking.yml`` configures (``siheyuan.linking.backend``): by default
its own in-memory DuckDB connection, fed an Arrow table of the features, so the warehouse file
stays with dbt (DuckDB allows one writer) and Splink's working tables never land in it; Spark
when one machine is no longer enough, with the same code around it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from siheyuan.linking.backend import Backend, BackendSettings, open_backend
from siheyuan.linking.model import MODEL_COLUMNS

#: The trained model, versioned with the code (``siheyuan train`` rewrites it).
MODEL_PATH = Path(__file__).with_name("person_model.json")


def comparison_names(model: dict[str, Any]) -> list[str]:
    """The model's comparisons in order (the ``mw_<name>`` / ``gamma_<name>`` columns)."""
    return [c["output_column_name"] for c in model["comparisons"]]


def load_model(path: Path = MODEL_PATH) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@contextmanager
def splink_linker(
    features: pa.Table,
    model: dict[str, Any],
    threads: int | None = None,
    backend: BackendSettings | None = None,
) -> Iterator[tuple[Any, Backend]]:
    """A Splink linker over ``features`` on the configured backend (closed on exit)."""
    from splink import Linker

    with open_backend(backend, threads) as db:
        table = db.input_table(features.select(list(MODEL_COLUMNS)))
        frame = db.api.register(table, dataset_display_name="person_records")
        yield Linker(frame, model, log_level=None), db


def score_pairs(
    features: pa.Table,
    model: dict[str, Any],
    floor_weight: float,
    threads: int | None = None,
    backend: BackendSettings | None = None,
) -> pa.Table:
    """Every candidate pair (the model's blocking rules) with a match weight >= ``floor_weight``.

    Columns: link_id_l < link_id_r, match_weight, match_probability, per comparison its weight
    (``mw_<name>``, 0 when there was nothing to compare; ``mw_tf_adj_name`` the adjustment for
    a rare or common name), and the blocking rule that found the pair (its index): the waterfall
    of each pair, kept for review and ``siheyuan explain``.
    """
    # the per-comparison levels and weights are what review and explain show
    model = {**model, "retain_intermediate_calculation_columns": True}
    with splink_linker(features, model, threads, backend) as (linker, db):
        scored = linker.inference.predict(threshold_match_weight=floor_weight, warning_mode="never")
        result = db.to_arrow(scored)
    # the pairs above the floor are few: shaped on a private DuckDB whatever the backend
    with duckdb.connect() as conn:
        conn.register("scored", result)
        sql = pairs_sql("scored", result.column_names)
        return conn.sql(f"{sql} order by link_id_l, link_id_r").to_arrow_table()


def pairs_sql(table: str, columns: list[str]) -> str:
    """A Splink prediction (``table``, with ``columns``) as pair rows: link_id_l < link_id_r,
    match_weight, match_probability, the ``mw_`` weights, the blocking rule's index."""
    weights = ", ".join(c for c in columns if c.startswith("mw_"))
    return (
        "select least(link_id_l, link_id_r) as link_id_l, "
        "greatest(link_id_l, link_id_r) as link_id_r, match_weight, match_probability, "
        f"{weights}, cast(match_key as integer) as blocking_rule from {table}"
    )
