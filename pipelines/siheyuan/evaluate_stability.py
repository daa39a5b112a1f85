"""Do persons keep their resident id from one round to the next, and does the change feed say
what changed? Measured against the generator's truth (rounds K-1 and K).

**Versions compared.** Round K's version is the newest published version that holds every file
of round K; round K-1's is the newest that holds every file of round K-1 and none of round K
(``_manifest.json`` lists the version's batches, ``meta.batch`` names their files). Both must
still be in ``published/`` (``SIHEYUAN_KEEP_VERSIONS``); otherwise the figure is reported as not
measurable, with the reason.

**A person's resident id in a version.** A person's records are every (dataset, source_key) the
truth of rounds 1..K gives them (a key always belongs to one person). In a version, the person's
id is the resident id most of those records carry in its ``resident_source_xref`` (ties: the
smallest id). *Kept* when round K's id is one the person's records carried in round K-1 (a
person the hub held as two residents — a missed link — keeps their id when the two merge into
either of them); *followed* when it is not, but ``resident_id_history`` leads from round K-1's
id to it (merged/split chain).

**Groups.** *Unchanged persons*: persons in both versions without any row in round K's
``changes.csv`` (target ≥ 99.9 % kept). *Hard cases*: persons whose change is one that renames
or re-keys their records — ``reregistered`` (a new 登记编号), ``id_issued`` (a child gains an ID
number), ``renumbered`` (a civil-affairs family renumbered), ``id_corrected`` and
``name_corrected`` (a ``corrected`` change whose detail says the ID or name value itself
was fixed: a bad check digit, transposed digits, a homophone, a dropped character)
(target ≥ 99 % kept, per kind and together). *All persons* for reference.

**Change feed.** Round K's rows of ``resident_change`` (the version's ``version_number``) against
the truth's change kinds, mapped to the feed's kinds (``FEED_KIND``). For each mapped kind:
persons the truth says changed so, how many of them have a feed row of that kind on their
round-K resident id (*found*), and how many feed rows of that kind there are in all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from .evaluate_round import TruthRound, truth_rounds

TARGETS = {"unchanged_kept_share": 0.999, "hard_case_kept_share": 0.99}
HARD_KINDS = (
    "reregistered",
    "id_issued",
    "renumbered",
    "id_corrected",
    "name_corrected",
)
# the corrections that change the value itself (docs/generator.md, changes.csv detail)
ID_FIXED = "id:(id_bad_check|id_transposed)"
NAME_FIXED = "name:(name_homophone|name_dropped_char)"
# truth change kind -> the change-feed kind a department system should receive for that person
FEED_KIND = {
    "born": "new",
    "floating_arrived": "new",
    "died": "deceased",
    "moved_out": "deregistered",
    "floating_departed": "moved_out",
    "moved": "moved_in",
    "health_updated": "updated",
}


def _version_files(published: Path, conn: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Every published version still on disk → the file names of the batches it holds."""
    names = dict(conn.execute("SELECT batch_id, file_name FROM meta.batch").fetchall())
    out: dict[str, set[str]] = {}
    for manifest in sorted(published.glob("v*/_manifest.json")):
        m = json.loads(manifest.read_text(encoding="utf-8"))
        out[m["version"]] = {names.get(b, b) for b in m.get("batches_in_this_version", [])}
    return out


def pick_versions(
    published: Path, conn: duckdb.DuckDBPyConnection, before: TruthRound, after: TruthRound
) -> tuple[str | None, str | None, str]:
    """(round K-1's version, round K's version, why one is missing — empty when both found)."""
    versions = _version_files(published, conn)
    later = [v for v, files in versions.items() if set(after.files) <= files]
    earlier = [
        v
        for v, files in versions.items()
        if set(before.files) <= files and not (set(after.files) & files)
    ]
    v_after = max(later) if later else None
    v_before = max(earlier) if earlier else None
    why = ""
    if v_after is None:
        why = f"no published version holds every file of round {after.number}"
    elif v_before is None:
        why = (
            f"no published version holds round {before.number} without round {after.number} "
            "(it was never published alone, or it was pruned: SIHEYUAN_KEEP_VERSIONS)"
        )
    return v_before, v_after, why


def _share(n: int, d: int) -> float:
    return n / d if d else 1.0


def evaluate_stability(
    truth_dir: Path, warehouse: Path, conn: duckdb.DuckDBPyConnection, round_no: int
) -> dict[str, Any]:
    """Id stability and change-feed figures for round ``round_no`` against round ``round_no``-1."""
    rounds = {r.number: r for r in truth_rounds(Path(truth_dir))}
    if round_no - 1 not in rounds or round_no not in rounds:
        return {
            "measured": False,
            "reason": f"the truth has no round {round_no - 1} beside round {round_no}",
        }
    published = Path(warehouse) / "published"
    v_before, v_after, why = pick_versions(published, conn, rounds[round_no - 1], rounds[round_no])
    if why:
        return {"measured": False, "reason": why}
    records = [str(rounds[k].folder / "records.csv") for k in sorted(rounds) if k <= round_no]
    db = duckdb.connect()
    try:
        db.execute(
            "CREATE TABLE truth AS SELECT DISTINCT dataset, source_key, person_id "
            "FROM read_csv(?, all_varchar = true, union_by_name = true)",
            [records],
        )
        # a correction's detail names what it fixed (``id:id_transposed;name:name_homophone``):
        # a corrected ID or name *value* (not just spaces or letter case) is a hard case
        db.execute(
            "CREATE TABLE changes_raw AS SELECT * FROM read_csv(?, all_varchar = true, "
            "union_by_name = true)",
            [str(rounds[round_no].folder / "changes.csv")],
        )
        db.execute(
            f"""
            CREATE TABLE changes AS
            SELECT DISTINCT person_id, change_kind FROM changes_raw
            UNION
            SELECT DISTINCT person_id, 'id_corrected' FROM changes_raw
            WHERE change_kind = 'corrected' AND regexp_matches(detail, '{ID_FIXED}')
            UNION
            SELECT DISTINCT person_id, 'name_corrected' FROM changes_raw
            WHERE change_kind = 'corrected' AND regexp_matches(detail, '{NAME_FIXED}')
            """
        )
        for name, version in (("before", v_before), ("after", v_after)):
            db.execute(
                f"""
                CREATE TABLE {name} AS
                SELECT t.person_id, arg_min(x.resident_id, (-n, x.resident_id)) AS resident_id,
                       list(x.resident_id) AS resident_ids
                FROM (
                    SELECT t.person_id, x.resident_id, count(*) AS n
                    FROM truth AS t
                    JOIN read_parquet(?) AS x
                      ON x.source_dataset = t.dataset AND x.source_key = t.source_key
                    GROUP BY ALL
                ) AS x
                JOIN (SELECT DISTINCT person_id FROM truth) AS t USING (person_id)
                GROUP BY t.person_id
                """,
                [str(published / str(version) / "resident_source_xref.parquet")],
            )
        db.execute(
            "CREATE TABLE id_history AS SELECT old_resident_id, new_resident_id "
            "FROM read_parquet(?) WHERE new_resident_id IS NOT NULL",
            [str(published / str(v_after) / "resident_id_history.parquet")],
        )
        db.execute(
            """
            CREATE TABLE compared AS
            WITH RECURSIVE follow(person_id, start_id, resident_id, depth) AS (
                SELECT b.person_id, b.resident_id, b.resident_id, 0 FROM before AS b
                UNION
                SELECT f.person_id, f.start_id, h.new_resident_id, f.depth + 1
                FROM follow AS f JOIN id_history AS h ON h.old_resident_id = f.resident_id
                WHERE f.depth < 20
            )
            SELECT b.person_id,
                   list_contains(b.resident_ids, a.resident_id) AS kept,
                   NOT list_contains(b.resident_ids, a.resident_id) AND EXISTS (
                       SELECT 1 FROM follow AS f
                       WHERE f.person_id = b.person_id AND f.resident_id = a.resident_id
                   ) AS followed,
                   c.person_id IS NULL AS unchanged
            FROM before AS b
            JOIN after AS a USING (person_id)
            LEFT JOIN (SELECT DISTINCT person_id FROM changes) AS c USING (person_id)
            """
        )

        def group(where: str) -> dict[str, Any]:
            n, kept, followed = db.execute(
                "SELECT count(*), count(*) FILTER (WHERE kept), count(*) FILTER (WHERE followed) "
                f"FROM compared WHERE {where}"
            ).fetchone() or (0, 0, 0)
            return {
                "persons": n,
                "kept": kept,
                "kept_share": _share(kept, n),
                "changed_but_followed_through_history": followed,
                "changed_and_lost": n - kept - followed,
            }

        unchanged = group("unchanged")
        everyone = group("true")
        hard: dict[str, Any] = {}
        for kind in HARD_KINDS:
            figures = group(
                f"person_id IN (SELECT person_id FROM changes WHERE change_kind = '{kind}')"
            )
            if figures["persons"]:
                hard[kind] = figures
        hard_all = group(
            "person_id IN (SELECT person_id FROM changes WHERE change_kind IN ("
            + ", ".join(f"'{k}'" for k in HARD_KINDS)
            + "))"
        )
        feed = _feed_figures(db, published / str(v_after))
    finally:
        db.close()
    meets = (
        unchanged["kept_share"] >= TARGETS["unchanged_kept_share"]
        and hard_all["kept_share"] >= TARGETS["hard_case_kept_share"]
    )
    return {
        "measured": True,
        "versions": {"before": v_before, "after": v_after},
        "unchanged_persons": unchanged,
        "hard_cases": {"all": hard_all, **hard},
        "all_persons": everyone,
        "change_feed": feed,
        "targets": TARGETS,
        "meets_targets": meets,
    }


def _feed_figures(db: duckdb.DuckDBPyConnection, version_dir: Path) -> dict[str, Any]:
    """Round K's change-feed rows by kind, and how many truth changes each kind found."""
    feed_file = version_dir / "resident_change.parquet"
    if not feed_file.exists():
        return {"measured": False, "reason": "the version has no resident_change table"}
    manifest = json.loads((version_dir / "_manifest.json").read_text(encoding="utf-8"))
    db.execute(
        "CREATE TABLE feed AS SELECT resident_id, change_kind FROM read_parquet(?) "
        "WHERE version_number = ?",
        [str(feed_file), int(manifest["version_number"])],
    )
    by_kind = dict(db.execute("SELECT change_kind, count(*) FROM feed GROUP BY 1").fetchall())
    truth_kinds: list[dict[str, Any]] = []
    for truth_kind, feed_kind in FEED_KIND.items():
        persons, found = db.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM feed AS f
                WHERE f.resident_id = a.resident_id AND f.change_kind = ?))
            FROM (SELECT DISTINCT person_id FROM changes WHERE change_kind = ?) AS c
            JOIN after AS a USING (person_id)
            """,
            [feed_kind, truth_kind],
        ).fetchone() or (0, 0)
        truth_kinds.append(
            {
                "truth_kind": truth_kind,
                "feed_kind": feed_kind,
                "truth_persons": persons,
                "found_in_feed": found,
                "found_share": _share(found, persons),
            }
        )
    return {"measured": True, "rows_by_kind": by_kind, "truth_vs_feed": truth_kinds}


def format_lines(result: dict[str, Any]) -> list[str]:
    """The stability section of ``siheyuan evaluate``'s text output."""
    if not result.get("measured"):
        return [f"id stability: not measured ({result.get('reason', '')})"]
    v = result["versions"]
    lines = [f"id stability ({v['before']} → {v['after']}):"]

    def row(label: str, g: dict[str, Any], target: str) -> str:
        return (
            f"  {label:<24} {g['persons']:>9,} persons  kept {g['kept_share'] * 100:8.3f} %"
            f"  followed {g['changed_but_followed_through_history']:>5,}"
            f"  lost {g['changed_and_lost']:>5,}  {target}"
        )

    lines.append(row("unchanged persons", result["unchanged_persons"], "(target ≥ 99.9 %)"))
    lines.append(row("hard cases", result["hard_cases"]["all"], "(target ≥ 99 %)"))
    for kind, g in result["hard_cases"].items():
        if kind != "all":
            lines.append(row(f"  {kind}", g, ""))
    lines.append(row("all persons", result["all_persons"], ""))
    feed = result["change_feed"]
    if feed.get("measured"):
        lines.append(
            "change feed (this version's rows by kind): "
            + ", ".join(f"{k} {n:,}" for k, n in sorted(feed["rows_by_kind"].items()))
        )
        for t in feed["truth_vs_feed"]:
            lines.append(
                f"  truth {t['truth_kind']:<18} → {t['feed_kind']:<13} "
                f"{t['found_in_feed']:>6,} of {t['truth_persons']:>6,} found"
            )
    else:
        lines.append(f"change feed: not measured ({feed.get('reason', '')})")
    return lines
