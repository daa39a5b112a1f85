"""Survivorship across two months: value lineage of snapshots, and incremental candidates.

A generated sample runs round 1, then round 2 (police and civil affairs re-deliver whole
snapshots, health and hr their changes). Pinned here:

- a snapshot record re-listed with the same values keeps the batch that delivered them
  (``value_batch_id``); only a record whose values changed gets the new batch;
- ``int_resident_attribute_candidates`` ranks again only the residents whose inputs changed
  (every round-1 row is marked before round 2; a marked row after it was kept, not rebuilt),
  and the table then equals a full build of the same warehouse, row for row;
- ``int_resident_attribute_lineage`` (the published lineage) and ``int_resident_winners`` (the
  surviving values side by side, read by ``marts.resident``) rebuild exactly those residents and
  equal a full build too. Winners are marked in ``former_name`` (no test reads it; round 2 then
  publishes the mark for kept residents, which nothing here looks at).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from siheyuan.generate import generate_sample
from siheyuan.runner import run_job
from test_models import run_dbt

PERSONS = 400
SEED = 17
MARK = "~kept"
CANDIDATES = "intermediate.int_resident_attribute_candidates"
CANDIDATES_MODEL = CANDIDATES.split(".")[1]
LINEAGE_TABLE = "intermediate.int_resident_attribute_lineage"
WINNERS = "intermediate.int_resident_winners"
# a stg_ row's lineage: everything else is the record's values
LINEAGE = "batch_id, apply_seq, extract_date, file_name, file_sha256, row_number, ingested_at, op"


def _q(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def two_months(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    warehouse = tmp_path_factory.mktemp("warehouse")
    generate_sample(persons=PERSONS, seed=SEED, out=out, round_no=1)
    assert run_job(out / "landing", warehouse).status == "published"
    db = warehouse / "siheyuan.duckdb"
    with duckdb.connect(str(db)) as conn:
        for table in (CANDIDATES, LINEAGE_TABLE):
            conn.execute(f"update {table} set value_origin = value_origin || '{MARK}'")
        conn.execute(f"update {WINNERS} set former_name = coalesce(former_name, '') || '{MARK}'")
    generate_sample(persons=PERSONS, seed=SEED, out=out, round_no=2)
    assert run_job(out / "landing", warehouse).status == "published"
    return db


def test_a_snapshot_record_relisted_unchanged_keeps_the_batch_of_its_values(two_months):
    db = two_months
    rows = _q(
        db,
        f"""
        with versions as (
            select source_key, apply_seq, batch_id,
                   md5(cast(row(*columns(* exclude (source_key, {LINEAGE}))) as varchar)) as h
            from staging.stg_police__hukou
        ),
        per_key as (
            select source_key,
                   count(distinct apply_seq) as batches,
                   count(distinct h) as versions,
                   arg_max(batch_id, apply_seq) as latest_batch
            from versions group by source_key
        )
        select p.batches, p.versions, p.latest_batch, r.value_batch_id, r.last_batch_id
        from per_key as p
        join intermediate.int_person_records as r
          on r.source_dataset = 'police_hukou' and r.source_key = p.source_key
        where r.record_status = 'active'
        """,
    )
    relisted = [r for r in rows if r[0] == 2]
    unchanged = [r for r in relisted if r[1] == 1]
    changed = [r for r in relisted if r[1] == 2]
    assert len(unchanged) > 100 and changed, (len(unchanged), len(changed))
    # listed twice with the same values: the first batch delivered them, the second re-listed
    assert all(v != latest and last == latest for _, _, latest, v, last in unchanged)
    # listed twice with other values the second time: the second batch delivered them
    assert all(v == latest == last for _, _, latest, v, last in changed)


def _kept_and_rebuilt(
    db: Path, table: str, column: str = "value_origin"
) -> tuple[set[str], set[str]]:
    """Residents whose rows all carry the round-1 mark (kept) and those with none (rebuilt)."""
    per_resident = _q(
        db,
        f"select resident_id, count(*) filter (where {column} like '%{MARK}'), count(*) "
        f"from {table} group by resident_id",
    )
    kept = {r for r, marked, n in per_resident if marked == n}
    rebuilt = {r for r, marked, n in per_resident if marked == 0}
    assert len(kept) + len(rebuilt) == len(per_resident)  # all of a resident's rows, or none
    return kept, rebuilt


def _assert_equals_a_full_build(db: Path, tmp_path: Path, table: str, min_rows: int = 1000) -> None:
    """On a copy without the marks, ``table`` equals a --full-refresh build of it, row for row."""
    copy = tmp_path / "siheyuan.duckdb"
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as conn:
        for t in (CANDIDATES, LINEAGE_TABLE):
            conn.execute(f"update {t} set value_origin = replace(value_origin, '{MARK}', '')")
        # a kept resident's mark was added to its former name, or to nothing
        conn.execute(
            f"update {WINNERS} set former_name = nullif(replace(former_name, '{MARK}', ''), '') "
            f"where former_name like '%{MARK}'"
        )
        # built_by names the invocation that wrote a row: the one column that must differ
        rows = f"select {'*' if table == WINNERS else '* exclude (built_by)'} from {table}"
        incremental = sorted(conn.execute(rows).fetchall(), key=repr)
    run_dbt(copy, tmp_path, "run", "--full-refresh", "--select", table.split(".")[1])
    full = sorted(_q(copy, rows), key=repr)
    assert len(full) > min_rows
    assert incremental == full


def test_round_two_ranks_only_changed_residents_and_equals_a_full_build(two_months, tmp_path):
    kept, ranked = _kept_and_rebuilt(two_months, CANDIDATES)
    assert ranked and len(kept) > 2 * len(ranked), (len(kept), len(ranked))
    _assert_equals_a_full_build(two_months, tmp_path, CANDIDATES)


def test_round_two_rebuilds_the_lineage_of_changed_residents_only(two_months, tmp_path):
    db = two_months
    # exactly the residents the candidates ranked again
    assert _kept_and_rebuilt(db, LINEAGE_TABLE) == _kept_and_rebuilt(db, CANDIDATES)
    # the published view is the table without its hash
    view = _q(db, "select * from marts.resident_attribute_lineage order by all")
    table = _q(db, f"select * exclude (lineage_hash, built_by) from {LINEAGE_TABLE} order by all")
    assert view == table
    _assert_equals_a_full_build(db, tmp_path, LINEAGE_TABLE)


def test_round_two_pivots_the_winners_of_changed_residents_only(two_months, tmp_path):
    db = two_months
    assert _kept_and_rebuilt(db, WINNERS, "former_name") == _kept_and_rebuilt(db, CANDIDATES)
    # marts.resident reads the winners: one row each, the same residents
    [(residents, winners, joined)] = _q(
        db,
        f"select (select count(*) from marts.resident), (select count(*) from {WINNERS}), "
        f"(select count(*) from marts.resident r join {WINNERS} w using (resident_id))",
    )
    assert residents == winners == joined
    _assert_equals_a_full_build(db, tmp_path, WINNERS, min_rows=PERSONS // 2)  # one a resident


def test_the_uniqueness_test_checks_what_a_build_wrote_and_a_test_run_checks_all(
    two_months, tmp_path
):
    """A build checks the rows it wrote against the whole table; ``dbt test`` checks every row."""
    db = two_months
    # round 2 wrote exactly the residents it ranked again
    kept, ranked = _kept_and_rebuilt(db, CANDIDATES)
    [(latest,)] = _q(
        db, f"select max_by(built_by, value_origin not like '%{MARK}') from {CANDIDATES}"
    )
    written = {
        r
        for (r,) in _q(
            db, f"select distinct resident_id from {CANDIDATES} where built_by = '{latest}'"
        )
    }
    assert written == ranked
    test_name = "unique_combination_int_resident_attribute_candidates"
    named = {r for (r,) in _q(db, f"select resident_id from {CANDIDATES} where attribute = 'name'")}
    x, y = sorted(kept & named)[:2]

    def with_repeat(folder: str, rank_x_again: bool) -> Path:
        """A copy where y also offers x's name (a repeat across residents); x's own rows are
        deleted when it is to be ranked again."""
        copy = tmp_path / folder / "siheyuan.duckdb"
        copy.parent.mkdir()
        shutil.copy(db, copy)
        with duckdb.connect(str(copy)) as conn:
            conn.execute(
                f"insert into {CANDIDATES} select * replace ('{y}' as resident_id) "
                f"from {CANDIDATES} where resident_id = '{x}' and attribute = 'name'"
            )
            if rank_x_again:
                conn.execute(f"delete from {CANDIDATES} where resident_id = '{x}'")
        return copy

    # a build that ranks x again writes the rows that reveal the repeat
    built = with_repeat("built", rank_x_again=True)
    out = run_dbt(built, built.parent, "build", "--select", CANDIDATES_MODEL, fails=True)
    assert test_name in out and "FAIL" in out
    # a build that wrote neither row does not look at them (they passed when written) ...
    alone = with_repeat("alone", rank_x_again=False)
    run_dbt(alone, alone.parent, "build", "--select", CANDIDATES_MODEL)
    # ... and dbt test on its own checks every row
    out = run_dbt(alone, alone.parent, "test", "--select", CANDIDATES_MODEL, fails=True)
    assert test_name in out and "FAIL" in out
