"""Publish: the marts become a new version under ``published/`` and CURRENT moves to it.

Loading PostgreSQL is not a step here but ``siheyuan run``'s (``targets.yml``,
``publish_on_run``): a failed step would fail a run whose version is already committed, and the
copy needs only the version folder, not the run lock (docs/consumers.md, "PostgreSQL").
"""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from siheyuan.defs.dbt_assets import siheyuan_dbt_assets
from siheyuan.defs.resources import WarehouseResource
from siheyuan.publish import MART_TABLES, publish_run
from siheyuan.settings import keep_versions

MART_KEYS = [
    get_asset_key_for_model([siheyuan_dbt_assets], t) for t in (*MART_TABLES, "resident_id_event")
]


@dg.asset(
    key="published_version",
    group_name="publish",
    deps=MART_KEYS,
    kinds={"parquet"},
    description=(
        "Writes <warehouse>/published/<version>/<table>.parquet for the consumer contract's tables "
        "and atomically points published/CURRENT at it. Skipped when the run applied no new batch."
    ),
)
def published_version(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    outcome = publish_run(
        warehouse.layout,
        warehouse.working_db(context.run.run_id),
        context.run.run_id,
        keep_versions(),
    )
    version = outcome.version
    if version is None:
        context.log.info("no new batch was applied in this run; nothing to publish")
        return dg.MaterializeResult(
            metadata={"published": False, "files_recorded": outcome.files_recorded}
        )
    return dg.MaterializeResult(
        metadata={
            "published": True,
            "version": version.version,
            "path": dg.MetadataValue.path(str(version.path)),
            **{f"rows_{t}": n for t, n in version.table_rows.items()},
            "pruned_versions": ", ".join(outcome.pruned) or "(none)",
        }
    )
