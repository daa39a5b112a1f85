"""Everything Dagster loads.

``dagster dev -m siheyuan.definitions`` shows one graph: ingest → dbt → publish. Files are
picked up by the landing sensor; each database source is pulled on its own schedule.
"""

from __future__ import annotations

import dagster as dg

from siheyuan.contracts import load_contracts
from siheyuan.defs.dbt_assets import dbt_resource, siheyuan_dbt_assets
from siheyuan.defs.ingest_assets import build_ingest_assets
from siheyuan.defs.publish_assets import published_version
from siheyuan.defs.resources import WarehouseResource
from siheyuan.defs.sensors import build_landing_sensor, build_pull_schedules

JOB_NAME = "siheyuan_job"

# One process, steps in order: DuckDB has a single writer, and the run lock is held by this process.
siheyuan_job = dg.define_asset_job(
    JOB_NAME, selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor
)


def build_definitions(warehouse: str = "", landing: str = "") -> dg.Definitions:
    """Definitions bound to a warehouse and landing folder (empty: flags' env vars/defaults)."""
    return dg.Definitions(
        assets=[*build_ingest_assets(), siheyuan_dbt_assets, published_version],
        jobs=[siheyuan_job],
        # Every job, the implicit one behind "Materialize" in the UI included, runs its steps in
        # one process: under the multiprocess default each step would set up and tear down the
        # warehouse resource itself, and one step's teardown would delete the working copy the
        # previous step wrote (and its setup's recovery would treat that copy as a crash's).
        executor=dg.in_process_executor,
        sensors=[build_landing_sensor(siheyuan_job)],
        # one schedule per database source, its cron in the contract (database.schedule)
        schedules=build_pull_schedules(siheyuan_job, load_contracts().values()),
        resources={
            "warehouse": WarehouseResource(warehouse=warehouse, landing=landing),
            "dbt": dbt_resource(),
        },
    )


defs = build_definitions()
