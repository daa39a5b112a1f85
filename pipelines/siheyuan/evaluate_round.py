"""Which round of the ground truth an evaluation compares the warehouse with.

``siheyuan generate --round K`` writes round K's files into the landing folder and its truth into
``truth/round_K/`` (``manifest.json`` names the files). A warehouse holds round K only once a run
has applied every one of those files; comparing it with a round it never applied measures the
wrong thing (every changed record looks wrong), so the round is chosen from the registry:

* asked for (``--round K``, or a ``round_K`` folder given directly): it must have been applied;
* otherwise the latest round whose files the warehouse has all applied.

A file counts as applied when the registry (``meta.batch``) has it, by name, as ``applied`` or
``duplicate`` (its content is in the warehouse under another name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .warehouse import table_exists


class RoundNotApplied(LookupError):
    """The round asked for (or every round of the truth) is not in the warehouse."""


@dataclass(frozen=True)
class TruthRound:
    number: int
    folder: Path
    files: tuple[str, ...]  # the landing file names the round consists of


@dataclass
class RoundChoice:
    round: TruthRound
    chosen: str  # "requested" | "latest applied"
    notes: list[str] = field(default_factory=list)


def read_round(folder: Path) -> TruthRound:
    """A round folder's number and file names (from manifest.json, else from records.csv)."""
    manifest = folder / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text(encoding="utf-8"))
        return TruthRound(int(m["round"]), folder, tuple(sorted(Path(f).name for f in m["files"])))
    named = folder.name.startswith("round_") and folder.name[6:].isdigit()
    files = duckdb.sql(
        "SELECT DISTINCT file_name FROM read_csv(?, all_varchar = true) ORDER BY 1",
        params=[str(folder / "records.csv")],
    ).fetchall()
    # a truth folder copied or renamed without its manifest: one round, its files from records
    return TruthRound(int(folder.name[6:]) if named else 1, folder, tuple(f for (f,) in files))


def truth_rounds(truth_dir: Path) -> list[TruthRound]:
    """The rounds of a truth folder, oldest first (one: a round folder given directly)."""
    if (truth_dir / "records.csv").exists():
        return [read_round(truth_dir)]
    rounds = [read_round(p) for p in truth_dir.glob("round_*") if (p / "records.csv").exists()]
    if not rounds:
        raise FileNotFoundError(f"no records.csv in {truth_dir} or its round_* folders")
    return sorted(rounds, key=lambda r: r.number)


def applied_files(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """File names whose content the warehouse holds (applied, or a duplicate of applied)."""
    if not table_exists(conn, "meta", "batch"):
        return set()
    return {
        name
        for (name,) in conn.execute(
            "SELECT DISTINCT file_name FROM meta.batch WHERE status IN ('applied', 'duplicate')"
        ).fetchall()
    }


def _missing(r: TruthRound, applied: set[str]) -> list[str]:
    return [f for f in r.files if f not in applied]


def _listed(files: list[str], most: int = 3) -> str:
    more = f" and {len(files) - most} more" if len(files) > most else ""
    return ", ".join(files[:most]) + more


def choose_round(
    truth_dir: Path, conn: duckdb.DuckDBPyConnection, round_no: int | None = None
) -> RoundChoice:
    """The round to evaluate (see the module docstring); ``RoundNotApplied`` with one line that
    names what is missing when the round asked for, or every round, was not applied."""
    rounds = truth_rounds(Path(truth_dir))
    applied = applied_files(conn)
    given_folder = len(rounds) == 1 and (Path(truth_dir) / "records.csv").exists()
    if round_no is not None or given_folder:
        wanted = round_no if round_no is not None else rounds[0].number
        match = [r for r in rounds if r.number == wanted]
        if not match:
            have = ", ".join(str(r.number) for r in rounds)
            raise RoundNotApplied(f"no round {wanted} in {truth_dir} (rounds there: {have})")
        chosen, how = match[0], "requested"
        missing = _missing(chosen, applied)
        if missing:
            raise RoundNotApplied(
                f"round {wanted} was not applied to this warehouse: {_listed(missing)} "
                f"not applied (run siheyuan run on its landing folder first)"
            )
    else:
        done = [r for r in rounds if not _missing(r, applied)]
        if not done:
            first = rounds[0]
            raise RoundNotApplied(
                f"no round of {truth_dir} was applied to this warehouse: round {first.number} "
                f"lacks {_listed(_missing(first, applied))} (run siheyuan run first)"
            )
        chosen, how = done[-1], "latest applied"
    notes = []
    for r in (r for r in rounds if r.number > chosen.number):
        missing = _missing(r, applied)
        if missing and len(missing) < len(r.files):
            notes.append(
                f"round {r.number} is partly applied ({len(r.files) - len(missing)} of "
                f"{len(r.files)} files): the warehouse is past round {chosen.number} for some "
                "datasets, so their figures compare with an older truth"
            )
        elif not missing:  # only when requested: else this round would be the one chosen
            notes.append(
                f"round {r.number} was applied too: the warehouse holds a later state than "
                f"round {chosen.number}'s truth"
            )
    return RoundChoice(chosen, how, notes)
