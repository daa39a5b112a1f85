"""One ingest asset per source contract: ``raw/<dataset>`` in the asset graph."""

import dagster as dg

from siheyuan.contracts import SourceContract, load_contracts
from siheyuan.defs.resources import WarehouseResource
from siheyuan.ingest import ingest_dataset


def build_ingest_asset(contract: SourceContract) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["raw", contract.dataset]),
        group_name="ingest",
        kinds={"duckdb", contract.file.format},
        description=(
            f"{contract.title}: every batch of `{contract.dataset}` applied to "
            f"raw.{contract.dataset} "
            f"with lineage ({contract.kind}; contract sources/{contract.department}/"
            f"{contract.dataset}.yml)."
        ),
        metadata={"department": contract.department, "kind": contract.kind},
    )
    def _ingest(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        working = warehouse.working_db(context.run.run_id)
        outcomes = ingest_dataset(
            working, warehouse.layout.database, contract, warehouse.landing_dir, context.run.run_id
        )
        rejected = [o for o in outcomes if o.status == "rejected"]
        if rejected:
            raise dg.Failure(
                description=rejected[0].reason or f"{rejected[0].file_name}: rejected",
                metadata={
                    "file": rejected[0].file_name,
                    "dataset": contract.dataset,
                    "reason_code": rejected[0].reason_code or "rejected",
                },
            )
        applied = [o for o in outcomes if o.status == "applied"]
        return dg.MaterializeResult(
            metadata={
                "batches_applied": len(applied),
                "batches_duplicate": sum(o.status == "duplicate" for o in outcomes),
                "rows_received": sum(o.rows_received for o in applied),
                "rows_accepted": sum(o.rows_accepted for o in applied),
                "rows_quarantined": sum(o.rows_quarantined for o in applied),
                "rows_duplicate": sum(o.rows_duplicate for o in applied),
                "files": ", ".join(o.file_name for o in applied) or "(nothing new)",
            }
        )

    return _ingest


ingest_assets = [build_ingest_asset(c) for c in load_contracts().values()]
