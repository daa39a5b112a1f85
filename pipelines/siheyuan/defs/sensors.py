"""Launch a run when the landing folder changes, and pull each database source on its schedule.

The sensor only lists files (name, size, modification time); it never opens the warehouse, so it
cannot collide with a run holding DuckDB's single writer lock. Deciding what is new is the
run's job. Its runs pull no database source (tag ``siheyuan/pull`` empty): a department's
database being down must not hold back the files that landed. A source's schedule launches the
same job tagged with that source only; its run also applies any file that landed meanwhile.
"""

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import dagster as dg

from siheyuan.contracts import SourceContract
from siheyuan.defs.ingest_assets import PULL_TAG
from siheyuan.settings import resolve_landing


def landing_fingerprint() -> tuple[str, int]:
    landing = resolve_landing()
    digest = hashlib.sha256()
    count = 0
    if landing.is_dir():
        for path in sorted(p for p in landing.rglob("*") if p.is_file()):
            st = path.stat()
            digest.update(f"{path.relative_to(landing)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            count += 1
    return digest.hexdigest(), count


def build_landing_sensor(job: Any) -> dg.SensorDefinition:
    @dg.sensor(
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Runs the job when files in the landing folder (SIHEYUAN_LANDING) change and have "
            "stayed unchanged for one more tick (a file still being copied is not picked up)."
        ),
    )
    def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        fingerprint, count = landing_fingerprint()
        state = json.loads(context.cursor) if context.cursor else {}
        if count == 0 or fingerprint == state.get("launched"):
            return dg.SensorResult(skip_reason=dg.SkipReason("no change in the landing folder"))
        if fingerprint != state.get("pending"):
            return dg.SensorResult(
                skip_reason=dg.SkipReason("landing folder changed; waiting for it to settle"),
                cursor=json.dumps({**state, "pending": fingerprint}),
            )
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=fingerprint, tags={"landing_files": str(count), PULL_TAG: ""})
            ],
            cursor=json.dumps({"launched": fingerprint, "pending": fingerprint}),
        )

    return landing_sensor


def build_pull_schedules(
    job: Any, contracts: Iterable[SourceContract]
) -> list[dg.ScheduleDefinition]:
    """``pull_<dataset>``: the job on the source's cron (``database.schedule``, in
    ``database.schedule_timezone``), pulling that source only."""
    schedules = []
    for contract in contracts:
        spec = contract.database
        if spec is None:
            continue
        schedules.append(
            dg.ScheduleDefinition(
                name=f"pull_{contract.dataset}",
                job=job,
                cron_schedule=spec.schedule,
                execution_timezone=spec.schedule_timezone,
                tags={PULL_TAG: contract.dataset},
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description=(
                    f"Pulls {contract.dataset} from the database named by ${spec.url_env}, "
                    "then builds and publishes as every run does (nothing is published when "
                    "the pull brings nothing new)."
                ),
            )
        )
    return schedules
