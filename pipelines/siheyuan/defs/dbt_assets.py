"""The dbt project (repository root) as Dagster assets: staging → intermediate → marts."""

import contextlib
import importlib.metadata
import logging
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from siheyuan.defs.resources import WarehouseResource
from siheyuan.faults import crash_point
from siheyuan.run_log import MaskingStream
from siheyuan.settings import project_root

DUCKDB_PATH_ENV = "SIHEYUAN_DUCKDB_PATH"
log = logging.getLogger(__name__)

DBT_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt")


def _manifest_is_stale(project: DbtProject) -> bool:
    """True when the manifest is missing or older than any dbt source file.

    A fresh clone has no manifest, and ``prepare_if_dev()`` acts only under ``dagster dev``; a
    manifest older than the models would make Dagster and dbt disagree about the graph.
    """
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    root = project_root()
    for name in DBT_SOURCES:
        path = root / name
        files = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        # bytecode of the pytest files in tests/dbt is not a dbt source
        if any(
            f.is_file() and "__pycache__" not in f.parts and f.stat().st_mtime > built
            for f in files
        ):
            return True
    return False


# dagster-dbt runs the `dbt` found on PATH (also when it prepares the manifest below): make the
# one beside this interpreter findable, so an unactivated `.venv/bin/siheyuan` works too.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

dbt_project = DbtProject(project_dir=project_root(), profiles_dir=project_root())
if _manifest_is_stale(dbt_project):
    dbt_project.preparer.prepare(dbt_project)


class SiheyuanDbtTranslator(DagsterDbtTranslator):
    """Group dbt models by their layer folder so the UI reads ingest → staging → … → publish."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "code_tables"
        if dbt_resource_props.get("resource_type") == "source":
            return "ingest"  # raw.* and meta.* are written by the ingest assets
        for layer in ("staging", "intermediate", "marts"):
            if layer in fqn:
                return layer
        return super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=SiheyuanDbtTranslator(),
)
def siheyuan_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    # dbt runs as a subprocess and reads the database path from the environment; the run's
    # working copy, never the live database.
    os.environ[DUCKDB_PATH_ENV] = str(warehouse.working_db(context.run.run_id))
    log.info("dbt build: staging → intermediate → marts, with tests")
    built: Counter[str] = Counter()  # by dbt resource type: model, seed, snapshot
    tests: dict[str, str] = {}  # dbt test id → its status (pass, warn)
    # No dbt.log: dagster-dbt would put it in the target folder, unmasked, and it would only
    # repeat what dbt prints to stdout, which reaches the run's log masked (``run_log``).
    args = ["build", "--log-level-file", "none", "--no-use-colors"]
    invocation = dbt.cli(args, context=context, target_path=warehouse.layout.dbt_target)
    # dagster-dbt re-prints dbt's output on stdout, where a failing model's error can quote a
    # value; mask it here, so every way a run is launched (CLI, sensor, UI with Dagster's
    # compute logs) stores it masked — the CLI's run log masks again, harmlessly.
    masked = MaskingStream(sys.stdout)
    with contextlib.redirect_stdout(masked), contextlib.closing(masked):
        for event in invocation.stream():
            if isinstance(event, dg.Output | dg.AssetMaterialization):
                if not built:
                    crash_point("dbt.during_build")
                built[_text(event.metadata, "unique_id").split(".", 1)[0] or "node"] += 1
            elif isinstance(
                event, dg.AssetCheckResult | dg.AssetCheckEvaluation | dg.AssetObservation
            ):
                # a test on several models comes as one observation per model: count ids
                test_id = _text(event.metadata, "unique_id")
                if test_id.startswith("test."):
                    tests[test_id] = _text(event.metadata, "status")
            yield event
    # A failing test of severity error fails the build (the stream raises): a test that did not
    # pass here is one of severity warn.
    passed = sum(status == "pass" for status in tests.values())
    log.info("dbt build: %s", build_summary(built, passed, len(tests) - passed))


def _text(metadata: Mapping[str, Any], key: str) -> str:
    """A metadata entry dagster-dbt attaches (``unique_id``, ``status``) as text; '' if absent."""
    value = metadata.get(key)
    value = getattr(value, "value", value)
    return "" if value is None else str(value)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def build_summary(built: Mapping[str, int], passed: int, warned: int) -> str:
    """``24 models and 8 seeds built, 130 tests passed`` (``, 2 warned`` when some did)."""
    order = ("model", "seed", "snapshot")
    kinds = sorted(built, key=lambda k: order.index(k) if k in order else len(order))
    parts = [_count(built[kind], kind) for kind in kinds]
    what = " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)
    line = f"{what or 'nothing'} built, {_count(passed, 'test')} passed"
    return line + (f", {warned} warned" if warned else "")


def dbt_executable() -> str:
    """The ``dbt`` beside this interpreter when there is one, else the one on ``PATH``.

    So ``.venv/bin/siheyuan`` or ``.venv/bin/pytest`` work without activating the environment.
    """
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


class SiheyuanDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without the two start-up costs it pays before every ``dbt build``.

    Why: dagster-dbt (0.29) first runs ``dbt --version`` as a subprocess to learn the version of
    the executable — a whole dbt start-up, and dbt's version check then waits on the network for
    the latest release (measured 10.7 s wall, 3.7 s CPU on the 2-core machine; nothing may
    download at run time anyway) — and then imports dbt-core into the job's own process, loads
    the profile and the project's macros and registers an adapter (3-6 s, ~150 MB) only so that
    ``fetch_column_metadata`` / ``fetch_row_counts`` could query the database. siheyuan uses
    neither; dbt itself still runs as the one subprocess, as before.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        # the dbt beside this interpreter is this environment's dbt-core: its version is known
        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None


def dbt_resource() -> DbtCliResource:
    return SiheyuanDbtCliResource(
        project_dir=dbt_project, profiles_dir=str(project_root()), dbt_executable=dbt_executable()
    )
