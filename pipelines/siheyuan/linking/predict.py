"""Score candidate pairs of person records with the trained Splink model.

Splink runs on its own in-memory DuckDB connection, fed an Arrow table of the features: the
warehouse file stays with dbt (DuckDB allows one writer), Splink's working tables never land in
the warehouse, and the same code runs on Spark by swapping the database API when one machine is
no longer enough.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
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
    features: pa.Table, model: dict[str, Any], threads: int | None = None
) -> Iterator[Any]:
    """A Splink linker over ``features`` on a private in-memory DuckDB (closed on exit)."""
    from splink import DuckDBAPI, Linker

    conn = duckdb.connect()
    try:
        if threads:
            conn.execute(f"SET threads = {int(threads)}")
        db_api = DuckDBAPI(connection=conn)
        table = features.select(list(MODEL_COLUMNS))
        frame = db_api.register(table, dataset_display_name="person_records")
        yield Linker(frame, model, log_level=None)
    finally:
        conn.close()


def score_pairs(
    features: pa.Table, model: dict[str, Any], floor_weight: float, threads: int | None = None
) -> pa.Table:
    """Every candidate pair (the model's blocking rules) with a match weight >= ``floor_weight``.

    Columns: link_id_l < link_id_r, match_weight, match_probability, per comparison its weight
    (``mw_<name>``, 0 when there was nothing to compare; ``mw_tf_adj_name`` the adjustment for
    a rare or common name), and the blocking rule that found the pair (its index): the waterfall
    of each pair, kept for review and ``siheyuan explain``.
    """
    # the per-comparison levels and weights are what review and explain show
    model = {**model, "retain_intermediate_calculation_columns": True}
    with splink_linker(features, model, threads) as linker:
        scored = linker.inference.predict(threshold_match_weight=floor_weight, warning_mode="never")
        rel = scored.as_duckdbpyrelation()
        weights = ", ".join(c for c in rel.columns if c.startswith("mw_"))
        table = rel.query(
            "scored",
            "select least(link_id_l, link_id_r) as link_id_l, "
            "greatest(link_id_l, link_id_r) as link_id_r, match_weight, match_probability, "
            f"{weights}, cast(match_key as integer) as blocking_rule "
            "from scored order by link_id_l, link_id_r",
        ).to_arrow_table()
    return table
