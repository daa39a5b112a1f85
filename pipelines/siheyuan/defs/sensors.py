"""Launch a run when the landing folder changes.

The sensor only lists files (name, size, modification time); it never opens the warehouse, so it
cannot collide with a run holding DuckDB's single writer lock. Deciding what is new is the
run's job.
"""

import hashlib
import json
from typing import Any

import dagster as dg

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
            run_requests=[dg.RunRequest(run_key=fingerprint, tags={"landing_files": str(count)})],
            cursor=json.dumps({"launched": fingerprint, "pending": fingerprint}),
        )

    return landing_sensor
