"""``siheyuan bench``: time the full job per stage on generated data, then a round of changes.

Why this shape: the runner is measured as it is, not a copy of it. Stage windows come from what
a run records anyway — the Dagster run's step events (ingest steps, the dbt op, publish) and
dbt's ``run_results.json`` (per model and test: ingest → checks/standardise/resolve/golden) —
and a background thread samples the RSS of this process and its children (dbt runs as a
subprocess) so each stage's peak memory is the largest sample inside its windows.

Bare Splink (scoring + the constrained clustering the resolve stage runs) is timed in-process
on the same run's standardised features, so the resolve stage can be reported as a ratio to it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import psutil

STAGES = ("ingest", "checks", "standardise", "resolve", "golden", "publish")

#: dbt models of the resolve stage (the rest of intermediate and the marts are golden)
RESOLVE_MODELS = ("int_resident_ids", "int_resident_anchors", "int_resident_links")
#: the standardised person rows. ``int_person_link_features`` is the table bare Splink starts
#: from (:func:`bare_splink`), so building it is standardisation, not resolution: the resolve
#: stage is what runs on those rows, the part the issue compares with bare Splink. Its seconds
#: are kept beside the resolve models (``link_features_seconds``) and in a second ratio.
LINK_FEATURES_MODEL = "int_person_link_features"
STANDARDISE_MODELS = ("int_addresses", "int_person_records", LINK_FEATURES_MODEL)

Window = tuple[float, float]


def dbt_stage(unique_id: str) -> str:
    """The bench stage of one dbt node (``model.siheyuan.int_addresses`` → standardise)."""
    kind, _, name = unique_id.partition(".")
    name = name.rpartition(".")[2] if kind != "test" else name
    if kind in ("test", "unit_test"):
        return "checks"
    if name.startswith(("stg_", "int_std__")) or name in STANDARDISE_MODELS:
        return "standardise"
    if name.startswith("int_person_") or name in RESOLVE_MODELS:
        return "resolve"
    return "golden"


def step_stage(step_key: str) -> str | None:
    """The bench stage of one Dagster step; None for the dbt op (its nodes are split by dbt)."""
    if "dbt" in step_key:
        return None
    if "publish" in step_key:
        return "publish"
    return "ingest"


class RssSampler:
    """Samples the RSS of this process and its children every ``interval`` seconds."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._proc = psutil.Process()

    def _rss(self) -> int:
        total = 0
        for p in [self._proc, *self._proc.children(recursive=True)]:
            # a child may end between listing and reading
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._rss()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.time(), self._rss()))

    def peak(self, windows: list[Window]) -> int:
        """Largest sample inside any window (or the nearest sample for a very short window)."""
        inside = [rss for t, rss in self.samples if any(a <= t <= b for a, b in windows)]
        if inside:
            return max(inside)
        nearest = [
            min(self.samples, key=lambda s, m=(a + b) / 2: abs(s[0] - m)) for a, b in windows
        ]
        return max((rss for _, rss in nearest), default=0)


def union_seconds(windows: list[Window]) -> float:
    """Wall seconds covered by the windows (dbt runs two threads: nodes overlap)."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(windows):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def _epoch(iso: str) -> float:
    when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def dbt_windows(run_results: dict[str, Any]) -> dict[str, list[Window]]:
    """Each stage's dbt execute windows from ``run_results.json``."""
    out: dict[str, list[Window]] = {}
    for r in run_results.get("results", []):
        execute = [t for t in r.get("timing", []) if t.get("name") == "execute"]
        if not execute or not execute[0].get("started_at"):
            continue
        win = (_epoch(execute[0]["started_at"]), _epoch(execute[0]["completed_at"]))
        out.setdefault(dbt_stage(r["unique_id"]), []).append(win)
    return out


def step_windows(events: list[Any]) -> tuple[dict[str, list[Window]], Window | None]:
    """Ingest and publish step windows from the Dagster event log, and the dbt op's window."""
    starts: dict[str, float] = {}
    out: dict[str, list[Window]] = {}
    dbt_op: Window | None = None
    for e in events:
        kind = e.dagster_event.event_type_value if e.dagster_event else None
        if kind == "STEP_START":
            starts[e.step_key] = e.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and e.step_key in starts:
            win = (starts[e.step_key], e.timestamp)
            stage = step_stage(e.step_key)
            if stage is None:
                dbt_op = win
            else:
                out.setdefault(stage, []).append(win)
    return out, dbt_op


@contextmanager
def captured_instance() -> Iterator[list[Any]]:
    """The ephemeral Dagster instance the runner creates, kept to read its event log after."""
    import dagster as dg

    original = dg.DagsterInstance.ephemeral
    made: list[Any] = []

    def ephemeral(*args: Any, **kwargs: Any) -> Any:
        instance = original(*args, **kwargs)
        made.append(instance)
        return instance

    with mock.patch.object(dg.DagsterInstance, "ephemeral", ephemeral):
        yield made


@dataclass
class RunTiming:
    label: str
    status: str
    source_rows: int
    wall_seconds: float
    peak_rss_bytes: int
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    dbt_overhead_seconds: float = 0.0
    dbt_op_seconds: float = 0.0
    #: how the resolve stage went: scoring mode, changed records, its models' seconds
    resolve: dict[str, Any] = field(default_factory=dict)

    @property
    def other_seconds(self) -> float:
        """Run time outside the ingest and publish steps and the dbt op (planning, definitions,
        locks). The dbt op counts whole: its stages overlap (two threads), their sum does not."""
        steps = sum(
            self.stages.get(st, {}).get("wall_seconds", 0.0) for st in ("ingest", "publish")
        )
        dbt = self.dbt_op_seconds or sum(
            s["wall_seconds"] for st, s in self.stages.items() if st not in ("ingest", "publish")
        )
        return max(0.0, self.wall_seconds - steps - dbt)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "status": self.status,
            "source_rows": self.source_rows,
            "wall_seconds": round(self.wall_seconds, 3),
            "peak_rss_mb": round(self.peak_rss_bytes / 2**20, 1),
            "dbt_op_seconds": round(self.dbt_op_seconds, 3),
            "dbt_overhead_seconds": round(self.dbt_overhead_seconds, 3),
            "other_seconds": round(self.other_seconds, 3),
            "stages": self.stages,
            "resolve": self.resolve,
        }


def timed_run(landing: Path, warehouse: Path, label: str) -> RunTiming:
    """Run the job as ``siheyuan run`` does and split its time, rows/s and peak RSS by stage."""
    from siheyuan.runner import run_job
    from siheyuan.settings import WarehouseLayout

    target = WarehouseLayout(warehouse).dbt_target
    (target / "run_results.json").unlink(missing_ok=True)
    with captured_instance() as made, RssSampler() as sampler:
        started = time.time()
        report = run_job(landing, warehouse)
        ended = time.time()
    if report.status != "published":
        raise RuntimeError(f"{label}: run {report.status}: {report.message}")
    events = list(made[-1].all_logs(report.run_id)) if made else []
    windows, dbt_op = step_windows(events)
    results_path = target / "run_results.json"
    run_results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for stage, wins in dbt_windows(run_results).items():
        windows.setdefault(stage, []).extend(wins)
    rows = sum(int(b.get("rows_received") or 0) for b in report.batches)
    peak = sampler.peak([(started, ended)])
    timing = RunTiming(label, report.status, rows, ended - started, peak)
    for stage in STAGES:
        wins = windows.get(stage, [])
        secs = union_seconds(wins)
        timing.stages[stage] = {
            "wall_seconds": round(secs, 3),
            "rows_per_second": round(rows / secs, 1) if secs > 0 else 0.0,
            "peak_rss_mb": round(sampler.peak(wins) / 2**20, 1) if wins else 0.0,
        }
    timing.resolve = resolve_work(warehouse, run_results)
    if dbt_op is not None:
        # dbt's two threads overlap nodes of different stages: the union of all dbt windows,
        # not the sum of the stages, is what the op spent in nodes
        nodes = [w for st in STAGES if st not in ("ingest", "publish") for w in windows.get(st, [])]
        timing.dbt_op_seconds = dbt_op[1] - dbt_op[0]
        timing.dbt_overhead_seconds = max(0.0, timing.dbt_op_seconds - union_seconds(nodes))
    return timing


def _schema_of(conn: Any, table: str) -> str:
    """The schema dbt built ``table`` in (the project's schema names are configuration)."""
    return conn.sql(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = ? LIMIT 1",
        params=[table],
    ).fetchall()[0][0]


def resolve_work(warehouse: Path, run_results: dict[str, Any]) -> dict[str, Any]:
    """What the resolve stage did: full or incremental scoring, how many records changed, how
    many pairs were scored, and each resolve model's seconds (dbt's run_results)."""
    from siheyuan.settings import WarehouseLayout
    from siheyuan.warehouse import connect

    out: dict[str, Any] = {"models": {}, "link_features_seconds": 0.0}
    for r in run_results.get("results", []):
        kind, _, name = r["unique_id"].partition(".")
        name = name.rpartition(".")[2]
        seconds = round(float(r.get("execution_time") or 0.0), 3)
        if kind == "model" and dbt_stage(r["unique_id"]) == "resolve":
            out["models"][name] = seconds
        elif kind == "model" and name == LINK_FEATURES_MODEL:
            out["link_features_seconds"] = seconds
    with connect(WarehouseLayout(warehouse).database, read_only=True) as conn:
        schema = _schema_of(conn, "int_person_pair_cache")
        rows = conn.sql(
            "SELECT any_value(mode), any_value(delta_records), count(*) FILTER (WHERE kind = "
            "'record'), count(*) FILTER (WHERE above_floor) "
            f'FROM "{schema}".int_person_pair_cache'
        ).fetchall()
    mode, delta, records, pairs = rows[0]
    out.update(scoring_mode=mode, changed_records=delta, records=records, scored_pairs=pairs)
    return out


def bare_splink(warehouse: Path) -> dict[str, Any]:
    """Score and cluster the run's standardised features in-process, as the resolve stage does."""
    from siheyuan.linking.config import linking_settings
    from siheyuan.linking.predict import load_model, score_pairs
    from siheyuan.linking.resolve import resolve
    from siheyuan.settings import WarehouseLayout
    from siheyuan.warehouse import connect

    with connect(WarehouseLayout(warehouse).database, read_only=True) as conn:
        schema = _schema_of(conn, "int_person_link_features")
        features = conn.sql(f'SELECT * FROM "{schema}".int_person_link_features').to_arrow_table()
        decisions = conn.sql(
            "SELECT left_dataset, left_key_hash, right_dataset, right_key_hash, decision "
            "FROM meta.link_decision QUALIFY row_number() OVER "
            "(PARTITION BY pair_id ORDER BY decided_at DESC) = 1"
        ).to_arrow_table()
    settings = linking_settings()
    with RssSampler() as sampler:
        t0 = time.time()
        pairs = score_pairs(features, load_model(), settings.review_weight)
        t1 = time.time()
        resolve(features, pairs, decisions, settings.thresholds())
        t2 = time.time()
    return {
        "rows": features.num_rows,
        "pairs": pairs.num_rows,
        "predict_seconds": round(t1 - t0, 3),
        "cluster_seconds": round(t2 - t1, 3),
        "wall_seconds": round(t2 - t0, 3),
        "peak_rss_mb": round(sampler.peak([(t0, t2)]) / 2**20, 1),
    }


def _copy_landing(src: Path, dst: Path) -> int:
    """Copy generated landing files into the bench's landing folder; number of files."""
    n = 0
    for f in sorted(src.rglob("*")):
        if f.is_file():
            to = dst / f.relative_to(src)
            to.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, to)
            n += 1
    return n


def _changed_rows(truth_dir: Path) -> int:
    path = truth_dir / "changes.csv"
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as fh:
        return sum(1 for _ in csv.DictReader(fh))


#: datasets delivered as full snapshots (the rest are deltas: every row is a change)
SNAPSHOT_DATASETS = ("police_hukou", "police_floating", "civil_assistance")


def _file_rows(path: Path) -> set[Any]:
    """Distinct non-empty data rows of a snapshot file (CSV lines or XLSX row tuples)."""
    if path.suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)[1:]
        return {tuple(r) for r in rows if any(v not in ("", None) for v in r)}
    lines = path.read_bytes().splitlines()[1:]
    return {line for line in lines if line.strip(b', \t"')}


def file_changes(gen1: Any, gen2: Any) -> dict[str, int]:
    """What the round-2 files change, read from the files themselves (not the truth).

    ``new_or_changed``: delta rows plus snapshot rows that no round-1 file of the dataset had
    (exact duplicates and empty rows ignored); ``gone``: round-1 snapshot rows round 2 lacks
    (a changed row counts in both). The truth's ``changes.csv`` lists changed records; new dirt
    in a snapshot is a changed row it does not list, so both are reported.
    """
    before: dict[str, set[Any]] = {}
    for f in gen1.files:
        if f.dataset in SNAPSHOT_DATASETS:
            before.setdefault(f.dataset, set()).update(_file_rows(f.path))
    new_or_changed = gone = 0
    for f in gen2.files:
        if f.dataset in SNAPSHOT_DATASETS:
            now = _file_rows(f.path)
            old = before.get(f.dataset, set())
            new_or_changed += len(now - old)
            gone += len(old - now)
        else:
            new_or_changed += f.rows
    return {"new_or_changed": new_or_changed, "gone": gone}


def _round_share(folder: Path, persons: int, seed: int, scale: float, gen1: Any) -> float:
    gen2 = generate_round(persons, seed, folder, 2, scale)
    round1_rows = sum(f.rows for f in gen1.files)
    return file_changes(gen1, gen2)["new_or_changed"] / round1_rows if round1_rows else 0.0


def generate_round(persons: int, seed: int, out: Path, round_no: int, scale: float) -> Any:
    """One generator round (a function of its own so a test can count the calls)."""
    from siheyuan.generate import generate_sample

    return generate_sample(
        persons=persons, seed=seed, out=out, round_no=round_no, change_scale=scale
    )


def calibrate_change_scale(
    target: float, seed: int, folder: Path, probe_persons: int = 20_000, steps: int = 4
) -> tuple[float, list[dict[str, float]]]:
    """The change scale whose round-2 files hold about ``target`` × round 1's rows as changes.

    The share counted is ``file_changes``' new or changed rows over round 1's rows: what the
    hub receives as change. Why a probe: that share hardly depends on the population's size
    but a round of a million persons takes minutes to generate, so the scale is found on a
    small population of the same seed (the share is nearly proportional to the scale: a few
    multiplicative steps, stopping within 5 %, about the probe's own noise) and the bench
    reports the share its own round 2 really has.
    """
    if not 0 < target < 1:
        raise ValueError("target share must be between 0 and 1")
    gen1 = generate_round(probe_persons, seed, folder, 1, 1.0)
    tried: list[dict[str, float]] = []
    scale = 1.0
    for _ in range(steps):
        share = _round_share(folder, probe_persons, seed, scale, gen1)
        tried.append({"scale": round(scale, 4), "share": round(share, 5)})
        if share <= 0 or abs(share - target) <= 0.05 * target:
            break
        scale *= target / share
    best = min(tried, key=lambda t: abs(t["share"] - target))
    return best["scale"], tried


def _ratio(seconds: float, bare_seconds: float) -> float | None:
    """A stage's seconds over bare Splink's, or None when bare Splink took no measurable time."""
    return round(seconds / bare_seconds, 2) if bare_seconds > 0 else None


def run_bench(
    persons: int,
    seed: int,
    folder: Path,
    results_dir: Path,
    change_share: float | None = 0.01,
    change_scale: float | None = None,
) -> dict[str, Any]:
    """Generate rounds 1 and 2 (not timed), run the job on each, time bare Splink; write JSON.

    Round 2 is a real generator month whose event rates are scaled: by ``change_scale`` when
    given, else by the scale calibrated to change about ``change_share`` of round 1's rows
    (None: the generator's usual month, scale 1).
    """
    if folder.exists():
        shutil.rmtree(folder)
    calibration: list[dict[str, float]] = []
    if change_scale is None:
        if change_share is None:
            change_scale = 1.0
        else:
            change_scale, calibration = calibrate_change_scale(change_share, seed, folder / "probe")
    landing, warehouse = folder / "landing", folder / "warehouse"
    gen1 = generate_round(persons, seed, folder / "gen1", 1, change_scale)
    gen2 = generate_round(persons, seed, folder / "gen2", 2, change_scale)
    round1_rows = sum(f.rows for f in gen1.files)
    round2_rows = sum(f.rows for f in gen2.files)
    changed = _changed_rows(gen2.truth_dir)
    _copy_landing(gen1.landing_dir, landing)
    full = timed_run(landing, warehouse, "round 1 (full)")
    bare = bare_splink(warehouse)
    _copy_landing(gen2.landing_dir, landing)
    delta = timed_run(landing, warehouse, "round 2 (changes)")
    # read after the timed runs: holding the files' rows would inflate the runs' peak RSS
    in_files = file_changes(gen1, gen2)
    resolve_secs = full.stages["resolve"]["wall_seconds"]
    features_secs = float((full.resolve or {}).get("link_features_seconds") or 0.0)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    result = {
        "persons": persons,
        "seed": seed,
        "utc": stamp,
        "cpus": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "round_1_source_rows": round1_rows,
        "round_2_source_rows": round2_rows,
        "round_2_target_share": change_share if calibration else None,
        "round_2_change_scale": change_scale,
        "round_2_calibration": calibration,
        "round_2_changed_rows": changed,
        "round_2_changed_share": round(changed / round1_rows, 4) if round1_rows else 0.0,
        "round_2_file_rows_new_or_changed": in_files["new_or_changed"],
        "round_2_file_rows_gone": in_files["gone"],
        "round_2_file_changed_share": round(in_files["new_or_changed"] / round1_rows, 4)
        if round1_rows
        else 0.0,
        "runs": [full.as_dict(), delta.as_dict()],
        "bare_splink": bare,
        "resolve_to_bare_ratio": _ratio(resolve_secs, bare["wall_seconds"]),
        # the ratio as results before 07df7dd counted it: building the features included
        "resolve_with_link_features_to_bare_ratio": _ratio(
            resolve_secs + features_secs, bare["wall_seconds"]
        ),
        "round_2_to_round_1_time": round(delta.wall_seconds / full.wall_seconds, 3),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / f"{persons}-{seed}-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    result["path"] = str(out)
    return result
