"""One ingest asset per source contract: ``raw/<dataset>`` in the asset graph, with its checks.

Each asset declares the quality gate's checks of its dataset (``expectations/<dataset>.yml``) as
Dagster asset checks, so the UI shows every check's result with its observed value and
threshold. A batch rule that fails (``blocking=True``, severity ERROR) fails the step and stops
everything downstream: no dbt build, no publish. The runner reads the failed check's metadata
(``file``, ``dataset``) to name the file in its one-line reason.
"""

import dagster as dg

from siheyuan.contracts import SourceContract, load_contracts
from siheyuan.defs.resources import WarehouseResource
from siheyuan.ingest import BatchOutcome, ingest_dataset
from siheyuan.quality import reports_root
from siheyuan.quality.config import CheckDefinition, check_definitions
from siheyuan.quality.privacy import mask_text


def _check_result(
    key: dg.AssetKey, definition: CheckDefinition, dataset: str, outcomes: list[BatchOutcome]
) -> dg.AssetCheckResult:
    """One check over the batches of this run: failed if it failed (not overridden) for any."""
    per_file = [(o, c) for o in outcomes for c in o.checks if c.check_name == definition.name]
    failing = [(o, c) for o, c in per_file if not c.passed and not c.overridden]
    blocking = [(o, c) for o, c in failing if c.blocking]
    shown = blocking[0] if blocking else failing[0] if failing else None
    metadata: dict = {
        "dataset": dataset,
        "layer": definition.layer,
        "files_checked": len(per_file),
        "results": "\n".join(
            f"{o.file_name}: {'passed' if c.passed else 'overridden' if c.overridden else 'FAILED'}"
            f" — {c.observed or ''}" + (f" (threshold {c.threshold})" if c.threshold else "")
            for o, c in per_file
        )
        or "(no new batch in this run)",
    }
    description = definition.description
    if shown is not None:
        o, c = shown
        metadata["file"] = o.file_name
        metadata["observed"] = mask_text(c.observed) or ""
        description = (o.reason if blocking else None) or mask_text(c.detail) or description
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=definition.name,
        passed=shown is None,
        severity=(dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN),
        metadata=metadata,
        description=description,
    )


def build_ingest_asset(contract: SourceContract) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", contract.dataset])
    definitions = check_definitions(contract)

    @dg.asset(
        key=key,
        group_name="ingest",
        kinds={"duckdb", contract.file.format},
        description=(
            f"{contract.title}: every batch of `{contract.dataset}` applied to "
            f"raw.{contract.dataset} "
            f"with lineage ({contract.kind}; contract sources/{contract.department}/"
            f"{contract.dataset}.yml; checks expectations/{contract.dataset}.yml)."
        ),
        metadata={"department": contract.department, "kind": contract.kind},
        check_specs=[
            dg.AssetCheckSpec(d.name, asset=key, blocking=d.blocking, description=d.description)
            for d in definitions
        ],
    )
    def _ingest(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        working = warehouse.working_db(context.run.run_id)
        outcomes = ingest_dataset(
            working,
            warehouse.layout.database,
            contract,
            warehouse.landing_dir,
            context.run.run_id,
            reports_root=reports_root(warehouse.layout),
        )
        applied = [o for o in outcomes if o.status == "applied"]
        rejected = [o for o in outcomes if o.status == "rejected"]
        for o in rejected:
            context.log.error(f"rejected {o.file_name} ({o.reason_code})")
        return dg.MaterializeResult(
            metadata={
                "batches_applied": len(applied),
                "batches_duplicate": sum(o.status == "duplicate" for o in outcomes),
                "batches_rejected": len(rejected),
                "rows_received": sum(o.rows_received for o in applied),
                "rows_accepted": sum(o.rows_accepted for o in applied),
                "rows_quarantined": sum(o.rows_quarantined for o in applied),
                "rows_duplicate": sum(o.rows_duplicate for o in applied),
                "files": ", ".join(o.file_name for o in applied) or "(nothing new)",
            },
            check_results=[_check_result(key, d, contract.dataset, outcomes) for d in definitions],
        )

    return _ingest


ingest_assets = [build_ingest_asset(c) for c in load_contracts().values()]
