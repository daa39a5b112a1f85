"""``generate_sample``: build the world, evolve it to round K, write round K's files and truth."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np

from . import dirt, extracts, truth, writers
from .address import AddressBook
from .config import GENERATOR_VERSION, dirt_rates, month_config, world_config
from .evolve import MonthEvents, advance
from .extracts import DEPARTMENT, Extract
from .population import build_world, extract_date
from .state import World
from .summary import FileSummary, GenerateSummary


def generate_sample(
    persons: int, seed: int, out: Path, round_no: int = 1, change_scale: float = 1.0
) -> GenerateSummary:
    """Write round ``round_no`` of a synthetic district with about ``persons`` people.

    Files go to ``out/landing/<department>/`` and the ground truth to
    ``out/truth/round_<K>/``.  The same (persons, seed, round) always gives byte-identical
    files; round K rebuilds the world from the seed and replays K-1 months of change, so
    rounds can be generated in any order into the same ``out``.

    ``change_scale`` multiplies the monthly event rates (world.yml ``change_scaled_rates``)
    of the months replayed: 0.25 gives a round with about a quarter of the usual changes,
    still delivered as the departments deliver (snapshots whole, deltas only changed rows).
    Rounds of one population must be generated with the same scale.
    """
    if change_scale <= 0:
        raise ValueError("change_scale must be positive")
    if persons < 1:
        raise ValueError("persons must be at least 1")
    if round_no < 1:
        raise ValueError("round_no must be at least 1")
    started = time.perf_counter()
    out = Path(out)
    landing = out / "landing"
    truth_dir = out / "truth" / f"round_{round_no}"
    truth_dir.mkdir(parents=True, exist_ok=True)
    for dept in sorted(set(DEPARTMENT.values())):
        (landing / dept).mkdir(parents=True, exist_ok=True)

    world = build_world(seed, persons)
    world.change_scale = float(change_scale)
    ev: MonthEvents | None = None
    for _ in range(round_no - 1):
        ev = advance(world)
    d = world_config()["district"]
    book = AddressBook(world.geo, d["province"], d["city"], d["district"])
    date = extract_date(round_no)
    summary = GenerateSummary(persons, seed, round_no, date.isoformat(), out, landing, truth_dir)
    dirt_rows: list[tuple[str, str, str, str, str]] = []
    change_rows: list[tuple[int, str, str, str, str, str]] = []
    records = truth.RecordsWriter(truth_dir / "records.csv")
    try:
        for ex, part in _extracts(world, round_no, ev):
            log = dirt.apply(ex, seed, round_no, book, world.change_scale)
            order, row_log = dirt.row_plan(ex, seed, round_no, part)
            dirt_rows += _world_dirt(world, ex) + log.rows + row_log.rows
            change_rows += _changes(world, ex, log)
            path = landing / DEPARTMENT[ex.dataset] / ex.file_name
            _write(path, ex, order, date)
            summary.files.append(FileSummary(path, ex.dataset, len(order)))
            records.add(world, ex)
    finally:
        records.close()
    if ev is not None:
        change_rows = _event_changes(world, ev, round_no) + change_rows
    summary.truth_files.append(truth_dir / "records.csv")
    summary.truth_files += truth.write_world(
        world, book, truth_dir, lambda n: f"{106000000 + n:09d}"
    )
    truth.write_dirt(truth_dir / "dirt.csv", dirt_rows)
    summary.truth_files.append(truth_dir / "dirt.csv")
    if round_no > 1:
        truth.write_changes(truth_dir / "changes.csv", change_rows)
        summary.truth_files.append(truth_dir / "changes.csv")
    summary.elapsed_seconds = round(time.perf_counter() - started, 3)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "persons": persons,
        "round": round_no,
        "extract_date": date.isoformat(),
        "persons_in_world": int((world.persons["created_round"] <= round_no).sum()),
        "buildings": world.geo.n_buildings,
        "households": len(world.households),
        "dirt_rates": dirt_rates(),
        "change_scale": world.change_scale,
        "monthly_rates": month_config(world.change_scale)["monthly"],
        "files": {str(f.path.relative_to(landing)): f.rows for f in summary.files},
        "dirt_counts": _count_kinds(dirt_rows),
    }
    truth.write_manifest(truth_dir / "manifest.json", manifest)
    summary.truth_files.append(truth_dir / "manifest.json")
    return summary


def _extracts(world: World, round_no: int, ev: MonthEvents | None):
    """The round's extracts in landing order, each with its sequence part (0 = single file)."""
    yield extracts.police_hukou(world, round_no), 0
    yield extracts.police_floating(world, round_no), 0
    yield extracts.civil_assistance(world, round_no), 0
    if ev is None:
        yield extracts.health_records(world, round_no, None), 0
        yield extracts.hr_insured(world, round_no, None, None), 0
        return
    yield (
        extracts.health_records(
            world, round_no, ev, dirt.delta_corrections(world, "health_records", round_no)
        ),
        0,
    )
    fixes = dirt.delta_corrections(world, "hr_insured", round_no)
    for part in (1, 2):
        rows = [r for r in ev.hr if r.part == part]
        yield extracts.hr_insured(world, round_no, rows, part, fixes), part


def _write(path: Path, ex: Extract, order: list[int], date: dt.date) -> None:
    if ex.dataset in ("police_hukou", "police_floating"):
        writers.write_csv(path, ex, order, encoding="utf-8", quote_all=False, newline="\n")
    elif ex.dataset == "hr_insured":
        writers.write_csv(path, ex, order, encoding="gb18030", quote_all=True, newline="\r\n")
    elif ex.dataset == "health_records":
        writers.write_jsonl(path, ex, order)
    else:
        writers.write_xlsx(
            path,
            ex,
            order,
            sheet="救助对象",
            created=dt.datetime(date.year, date.month, date.day, 8, 0, 0),
        )


def _world_dirt(world: World, ex: Extract) -> list[tuple[str, str, str, str, str]]:
    """Dirt that belongs to the person rather than the delivery (old IDs, double registration)."""
    p = world.persons
    out = []
    if ex.dataset == "police_hukou":
        for i in np.flatnonzero(p["id15"][ex.person]).tolist():
            out.append((ex.dataset, ex.keys[i], "公民身份号码", "id_15_digit", ex.file_name))
    elif ex.dataset == "police_floating":
        second = p["freg_no2"][ex.person] == ex.key_int
        for i in np.flatnonzero(second).tolist():
            out.append((ex.dataset, ex.keys[i], "", "duplicate_registration", ex.file_name))
    return out


def _changes(
    world: World, ex: Extract, log: dirt.DirtLog
) -> list[tuple[int, str, str, str, str, str]]:
    """Delta rows and corrected snapshot values as changes.csv lines (detail: what was fixed)."""
    out = []
    if ex.change_kinds is not None:
        details = ex.change_details or [""] * len(ex.change_kinds)
        for i, kind in enumerate(ex.change_kinds):
            if kind != "initial":
                out.append(
                    (int(ex.person[i]), kind, ex.dataset, ex.keys[i], ex.file_name, details[i])
                )
    fixed: dict[int, set[str]] = {}
    for i, what in log.corrected:
        fixed.setdefault(i, set()).add(what)
    for i, what_set in fixed.items():
        out.append(
            (
                int(ex.person[i]),
                "corrected",
                ex.dataset,
                ex.keys[i],
                ex.file_name,
                ";".join(sorted(what_set)),
            )
        )
    return out


def _event_changes(
    world: World, ev: MonthEvents, round_no: int
) -> list[tuple[int, str, str, str, str, str]]:
    """Snapshot-side changes of the month (police and civil affairs)."""
    p = world.persons
    day = extracts.extract_day(round_no)
    hukou_file = extracts.file_name("police_hukou", day)
    floating_file = extracts.file_name("police_floating", day)
    civil_file = extracts.file_name("civil_assistance", day)
    out = []
    for pid, kind, dataset in ev.changes:
        if dataset == "police_hukou":
            out.append(
                (pid, kind, dataset, extracts.hukou_key(int(p["hukou_no"][pid])), hukou_file, "")
            )
        else:
            out.append(
                (
                    pid,
                    kind,
                    dataset,
                    extracts.floating_key(int(p["freg_no"][pid]), int(p["freg_date"][pid])),
                    floating_file,
                    "",
                )
            )
            if p["freg_no2"][pid] >= 0:
                out.append(
                    (
                        pid,
                        kind,
                        dataset,
                        extracts.floating_key(int(p["freg_no2"][pid]), int(p["freg2_date"][pid])),
                        floating_file,
                        "",
                    )
                )
    for kind, fams in (
        ("assistance_started", ev.families_started),
        ("assistance_stopped", ev.families_stopped),
    ):
        for fi in fams:
            fam = world.families[fi]
            fkey = extracts.family_key(fam.family_no, fam.start_ym)
            for i, m in enumerate(fam.members):
                out.append((m, kind, "civil_assistance", f"{fkey}-{i + 1}", civil_file, ""))
    files = {"police_floating": floating_file, "civil_assistance": civil_file}
    for pid, kind, dataset, key, detail in ev.keyed:
        out.append((pid, kind, dataset, key, files[dataset], detail))
    return out


def _count_kinds(rows: list[tuple[str, str, str, str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for ds, _k, _c, kind, _f in rows:
        out.setdefault(ds, {}).setdefault(kind, 0)
        out[ds][kind] += 1
    return {ds: dict(sorted(v.items())) for ds, v in sorted(out.items())}
