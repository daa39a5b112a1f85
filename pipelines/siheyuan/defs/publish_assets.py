"""Publish: the marts become a new version under ``published/`` and CURRENT moves to it."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from siheyuan.defs.dbt_assets import siheyuan_dbt_assets
from siheyuan.defs.resources import WarehouseResource
from siheyuan.publish import (
    PUBLISHED_TABLES,
    commit,
    commit_registry,
    prune,
    registry_changed,
    run_batch_ids,
    write_version,
)
from siheyuan.settings import keep_versions

MART_KEYS = [get_asset_key_for_model([siheyuan_dbt_assets], t) for t in PUBLISHED_TABLES]


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
    layout = warehouse.layout
    working = warehouse.working_db(context.run.run_id)
    if not run_batch_ids(working, context.run.run_id):
        # Replays recorded as duplicates still belong in the registry; the data did not change.
        recorded = registry_changed(working, context.run.run_id)
        if recorded:
            commit_registry(layout, working)
        else:
            working.unlink(missing_ok=True)
        context.log.info("no new batch was applied in this run; nothing to publish")
        return dg.MaterializeResult(metadata={"published": False, "files_recorded": recorded})
    version = write_version(layout, working, context.run.run_id)
    commit(layout, working, version)
    removed = prune(layout, keep_versions())
    return dg.MaterializeResult(
        metadata={
            "published": True,
            "version": version.version,
            "path": dg.MetadataValue.path(str(version.path)),
            **{f"rows_{t}": n for t, n in version.table_rows.items()},
            "pruned_versions": ", ".join(removed) or "(none)",
        }
    )
