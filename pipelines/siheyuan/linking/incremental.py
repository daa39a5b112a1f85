"""Score only what changed: the pair cache behind ``int_person_pair_cache``.

A monthly delivery changes about one record in a hundred, yet a full prediction blocks and scores
every record again. The cache keeps, from the previous run, every person record's feature hash
(what the model compares, keyed by dataset and keyed source key — never by link id, a row
position of one run) and every scored pair down to a *margin* below the review weight. A run then

1. finds the **delta**: records whose (record key, feature hash) the cache does not hold (both
   are DuckDB's 64-bit ``hash``: of dataset and keyed source key, and of the compared columns;
   a run whose record keys collide scores everything);
2. scores the delta against the whole population with Splink (``link_only``: the delta on the
   left, every record on the right), which finds every candidate pair that involves a changed
   record, with the model's own blocking rules;
3. re-scores the cached pairs between unchanged records with Splink (each pair blocked on its
   own number), because a pair's weight depends on more than its two records: the name
   comparison is term-frequency adjusted over the whole population, and the population moved.

Both Splink runs use the term-frequency table of the *current* population, computed by Splink
itself, so every weight is the one a full prediction gives. What a re-score cannot see is a pair
between unchanged records that was below the cache's floor and rose: only a name's frequency can
lift it (by ``log2(tf_old / tf_new)`` bits at the exact-name level), so before scoring the run
measures the largest such rise over every name held by two unchanged records and checks that the
cache stays complete above the review weight; the cache's floor then moves up by that rise. When
it would reach the review weight, or the delta is large, or the model, its thresholds or the
cache's own layout, the scoring code or Splink changed, the run predicts everything from scratch,
which also resets the floor.

The result is the same set of pairs at or above the review weight, with the same weights and
blocking rules, as a full prediction (``tests/linking/test_pair_cache.py`` compares the two on
random populations; ``docs/scaling.md`` has the argument and the measurements).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from siheyuan.linking.backend import BackendSettings, open_backend
from siheyuan.linking.config import IncrementalSettings
from siheyuan.linking.model import MODEL_COLUMNS
from siheyuan.linking.predict import pairs_sql, score_pairs

#: Bumped when the cache table's layout or meaning changes: an old cache is then ignored.
CACHE_LAYOUT = 1

#: The model columns that define a record for scoring (link_id is a row position, not content).
CONTENT_COLUMNS = tuple(c for c in MODEL_COLUMNS if c != "link_id")

#: The one term-frequency-adjusted column of the model (checked against the model file).
TF_COLUMN = "name_normalised"


@dataclass(frozen=True)
class CacheOutcome:
    """How this run scored (kept in the cache table's ``mode`` / ``delta_records`` columns)."""

    mode: str  # full | incremental
    reason: str
    delta_records: int
    cached_pairs_rescored: int
    complete_above: float


def fingerprint(model: dict[str, Any], review_weight: float, margin: float) -> str:
    """What the cached weights were made with: the model, the floor, the scoring code, Splink."""
    here = Path(__file__).resolve().parent
    code = hashlib.sha256()
    for name in ("incremental.py", "predict.py", "backend.py"):
        code.update((here / name).read_bytes())
    blob = json.dumps(
        {
            "model": model,
            "floor": review_weight,
            "margin": margin,
            "layout": CACHE_LAYOUT,
            "code": code.hexdigest(),
            "splink": version("splink"),
            "duckdb": version("duckdb"),  # hash() is stable within a DuckDB version
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _tf_levels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        level
        for comp in model["comparisons"]
        for level in comp["comparison_levels"]
        if level.get("tf_adjustment_column")
    ]


_STATE_SQL = f"""
select link_id,
       hash(source_dataset, source_key_hash) as record_key,
       hash({", ".join(CONTENT_COLUMNS)}) as feature_hash,
       {TF_COLUMN}
from features
"""


def score_with_cache(
    features: pa.Table,
    model: dict[str, Any],
    review_weight: float,
    previous: pa.Table | None,
    settings: IncrementalSettings | None = None,
    backend: BackendSettings | None = None,
) -> tuple[pa.Table, CacheOutcome]:
    """The new cache table (records and pairs) and how it was made.

    ``features``: the model columns plus source_dataset and source_key_hash. ``previous``: the
    last cache table, or None. Pair rows with ``above_floor`` are this run's scored pairs (the
    ``int_person_match_pairs`` of a full prediction); the others are kept for the next run.
    """
    settings = settings or IncrementalSettings()
    tf_levels = _tf_levels(model)
    if {level["tf_adjustment_column"] for level in tf_levels} - {TF_COLUMN}:
        raise ValueError(f"the pair cache handles term frequencies of {TF_COLUMN} only")
    # a weight moves by tf_adjustment_weight * log2(tf_old / tf_new) when a frequency moves
    tf_weight = max((level.get("tf_adjustment_weight", 1.0) for level in tf_levels), default=0.0)
    floor = review_weight - settings.margin_weight
    fp = fingerprint(model, review_weight, settings.margin_weight)
    conn = duckdb.connect()
    try:
        conn.register("features", features)
        state = conn.sql(_STATE_SQL).to_arrow_table()
        conn.register("state", state)
        reason = _why_full(conn, previous, fp, settings)
        if reason is None and _keys_collide(conn):
            reason = "two records share a record key hash"
        if reason is None:
            conn.register("previous", previous)
            delta, rise = _delta_and_rise(conn)
            rise *= tf_weight
            complete_above = max(floor, _previous_complete_above(conn) + rise)
            if delta > settings.max_delta_share * max(1, state.num_rows):
                reason = f"{delta} changed records, over max_delta_share"
            elif complete_above > review_weight:
                reason = f"name frequencies moved by {rise:.3f} bits since the last full scoring"
        if reason is not None:
            pairs = score_pairs(features, model, floor, backend=backend)
            outcome = CacheOutcome("full", reason, state.num_rows, 0, floor)
        else:
            pairs, rescored = _score_delta(conn, features, model, floor, backend)
            outcome = CacheOutcome("incremental", "", delta, rescored, complete_above)
        conn.register("pairs", pairs)
        return _cache_table(conn, pairs, fp, review_weight, outcome), outcome
    finally:
        conn.close()


def _why_full(
    conn: duckdb.DuckDBPyConnection,
    previous: pa.Table | None,
    fp: str,
    settings: IncrementalSettings,
) -> str | None:
    if not settings.enabled:
        return "incremental scoring is off (linking.yml)"
    if previous is None or previous.num_rows == 0:
        return "no previous cache"
    if "fingerprint" not in previous.column_names:
        return "the previous cache has another layout"
    conn.register("previous_fp", previous.select(["fingerprint"]))
    fps = {r[0] for r in conn.sql("select distinct fingerprint from previous_fp").fetchall()}
    if fps != {fp}:
        return "the model, its thresholds or the cache layout changed"
    return None


def _keys_collide(conn: duckdb.DuckDBPyConnection) -> bool:
    """Two records of this run with one 64-bit record key (about 1e-7 at a million records):
    the cache could not tell them apart, so the run scores everything."""
    rows = conn.execute("select count(*) - count(distinct record_key) from state").fetchall()
    return rows[0][0] > 0


def _previous_complete_above(conn: duckdb.DuckDBPyConnection) -> float:
    return float(conn.execute("select max(complete_above) from previous").fetchall()[0][0])


def _delta_and_rise(conn: duckdb.DuckDBPyConnection) -> tuple[int, float]:
    """Changed records, and the largest rise of a name's weight among unchanged records."""
    conn.execute(
        """
        create temp table prev_records as
        select record_key_l as record_key, feature_hash_l as feature_hash, name_normalised
        from previous where kind = 'record';
        create temp table unchanged as
        select s.link_id, s.record_key, s.feature_hash, s.name_normalised
        from state as s join prev_records as p using (record_key, feature_hash)
        """
    )
    delta = conn.execute(
        "select count(*) from state where link_id not in (select link_id from unchanged)"
    ).fetchall()[0][0]
    # a pair of unchanged records at the exact-name level gains log2(tf_old / tf_new) bits
    rise = conn.execute(
        """
        with old as (
            select name_normalised as n, count(*) as c,
                   sum(count(*)) over () as total
            from prev_records where name_normalised is not null group by 1
        ),
        new as (
            select name_normalised as n, count(*) as c,
                   sum(count(*)) over () as total
            from state where name_normalised is not null group by 1
        ),
        shared as (
            select name_normalised as n from unchanged
            where name_normalised is not null group by 1 having count(*) >= 2
        )
        select coalesce(max(log2((old.c / old.total) / (new.c / new.total))), 0)
        from shared join old using (n) join new using (n)
        """
    ).fetchall()[0][0]
    return int(delta), max(0.0, float(rise))


def _score_delta(
    conn: duckdb.DuckDBPyConnection,
    features: pa.Table,
    model: dict[str, Any],
    floor: float,
    backend: BackendSettings | None,
) -> tuple[pa.Table, int]:
    """Pairs involving a changed record, plus the cached pairs of unchanged records re-scored."""
    from splink import Linker

    model = {**model, "retain_intermediate_calculation_columns": True}
    cols = ", ".join(MODEL_COLUMNS)
    delta = conn.sql(
        f"select {cols} from features "
        "where link_id not in (select link_id from unchanged) order by link_id"
    ).to_arrow_table()
    # cached pairs between records that did not change, numbered: each pair blocks on its number
    cached = conn.sql(
        """
        select row_number() over (order by l.link_id, r.link_id) as pair_no,
               l.link_id as link_id_l, r.link_id as link_id_r, p.blocking_rule
        from previous as p
        join unchanged as l on l.record_key = p.record_key_l and l.feature_hash = p.feature_hash_l
        join unchanged as r on r.record_key = p.record_key_r and r.feature_hash = p.feature_hash_r
        where p.kind = 'pair'
        """
    ).to_arrow_table()
    conn.register("cached", cached)
    side = (
        "select c.pair_no as link_id, {rest} from cached as c "
        "join features as f on f.link_id = c.link_id_{s} order by c.pair_no"
    )
    rest = ", ".join(c for c in MODEL_COLUMNS if c != "link_id")
    left = conn.sql(side.format(rest=rest, s="l")).to_arrow_table()
    right = conn.sql(side.format(rest=rest, s="r")).to_arrow_table()
    link_only = {**model, "link_type": "link_only"}
    with open_backend(backend) as db:
        everyone = db.api.register(
            db.input_table(features.select(list(MODEL_COLUMNS))), dataset_display_name="population"
        )
        tf = Linker(everyone, model, log_level=None).table_management.compute_tf_table(TF_COLUMN)
        results = []
        if delta.num_rows:
            new = db.api.register(db.input_table(delta), dataset_display_name="changed")
            linker = Linker([new, everyone], link_only, log_level=None)
            linker.table_management.register_term_frequency_lookup(tf, TF_COLUMN)
            scored = linker.inference.predict(threshold_match_weight=floor, warning_mode="never")
            results.append(("delta", db.to_arrow(scored)))
        if cached.num_rows:
            by_pair = {
                **link_only,
                "blocking_rules_to_generate_predictions": [
                    {"blocking_rule": "l.link_id = r.link_id", "sql_dialect": model["sql_dialect"]}
                ],
            }
            lf = db.api.register(db.input_table(left), dataset_display_name="cached_l")
            rf = db.api.register(db.input_table(right), dataset_display_name="cached_r")
            linker = Linker([lf, rf], by_pair, log_level=None)
            linker.table_management.register_term_frequency_lookup(tf, TF_COLUMN)
            scored = linker.inference.predict(threshold_match_weight=floor, warning_mode="never")
            results.append(("cached", db.to_arrow(scored)))
    parts = []
    for kind, table in results:
        name = f"scored_{kind}"
        conn.register(name, table)
        weights = ", ".join(c for c in table.column_names if c.startswith("mw_"))
        if kind == "delta":  # a changed record also meets itself on the population side
            parts.append(f"{pairs_sql(name, table.column_names)} where link_id_l <> link_id_r")
        else:
            parts.append(
                "select least(c.link_id_l, c.link_id_r) as link_id_l, "
                "greatest(c.link_id_l, c.link_id_r) as link_id_r, s.match_weight, "
                "s.match_probability, "
                f"{', '.join('s.' + w for w in weights.split(', '))}, c.blocking_rule "
                f"from {name} as s join cached as c on c.pair_no = s.link_id_l"
            )
    if not parts:  # nothing changed and nothing was cached: no pairs, the previous columns
        empty = conn.sql(
            "select link_id_l, link_id_r, match_weight, match_probability, "
            "columns('^mw_'), blocking_rule from previous where false"
        )
        return empty.to_arrow_table(), 0
    union = " union all ".join(f"({p})" for p in parts)
    pairs = conn.sql(
        f"select distinct on (link_id_l, link_id_r) * from ({union}) order by link_id_l, link_id_r"
    ).to_arrow_table()
    return pairs, cached.num_rows


def _cache_table(
    conn: duckdb.DuckDBPyConnection,
    pairs: pa.Table,
    fp: str,
    review_weight: float,
    outcome: CacheOutcome,
) -> pa.Table:
    """Record rows (what each record was) and pair rows (what each pair scored), one table.

    In no particular order: every reader selects by kind and joins on link ids, and the
    clustering sorts its edges itself (sorting 2.4M rows here cost 0.8 s at a million persons).
    """
    weights = [c for c in pairs.column_names if c.startswith("mw_")]
    nulls = ", ".join(f"cast(null as double) as {w}" for w in weights)
    consts = (
        f"'{fp}' as fingerprint, {outcome.complete_above!r}::double as complete_above, "
        f"'{outcome.mode}' as mode, {outcome.delta_records}::bigint as delta_records"
    )
    return conn.sql(
        f"""
        select 'record' as kind, link_id as link_id_l, cast(null as bigint) as link_id_r,
               record_key as record_key_l, feature_hash as feature_hash_l,
               cast(null as ubigint) as record_key_r, cast(null as ubigint) as feature_hash_r,
               name_normalised, cast(null as double) as match_weight,
               cast(null as double) as match_probability, {nulls},
               cast(null as integer) as blocking_rule, cast(null as boolean) as above_floor,
               {consts}
        from state
        union all
        select 'pair', p.link_id_l, p.link_id_r, l.record_key, l.feature_hash, r.record_key,
               r.feature_hash, null, p.match_weight, p.match_probability,
               {", ".join("p." + w for w in weights)}, p.blocking_rule,
               p.match_weight >= {review_weight!r}, {consts}
        from pairs as p
        join state as l on l.link_id = p.link_id_l
        join state as r on r.link_id = p.link_id_r
        """
    ).to_arrow_table()


def previous_table(session: Any, relation: str, where: str | None = None) -> pa.Table | None:
    """The table a model left last run (``relation``, read before dbt replaces it), or None
    when there is none or it lacks a column ``where`` (the rows to read) names."""
    try:
        return session.sql(f"select * from {relation} where {where or 'true'}").to_arrow_table()
    except (duckdb.CatalogException, duckdb.BinderException):
        return None
