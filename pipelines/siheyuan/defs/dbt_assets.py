"""The dbt project (repository root) as Dagster assets: staging → intermediate → marts."""

import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from siheyuan.defs.resources import WarehouseResource
from siheyuan.settings import project_root

DUCKDB_PATH_ENV = "SIHEYUAN_DUCKDB_PATH"

dbt_project = DbtProject(project_dir=project_root(), profiles_dir=project_root())
if not dbt_project.manifest_path.exists():
    # A fresh clone has no manifest and prepare_if_dev() acts only under `dagster dev`: parse
    # now so the CLI, the tests and the UI all load from a clean checkout.
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
    os.environ[DUCKDB_PATH_ENV] = str(warehouse.working_db(context.run_id))
    yield from dbt.cli(["build"], context=context).stream()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(project_root()))
