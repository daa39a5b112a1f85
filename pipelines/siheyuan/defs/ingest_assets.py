"""One ingest asset per source contract: ``raw/<dataset>`` in the asset graph, with its checks.

Each asset declares the quality gate's checks of its dataset (``expectations/<dataset>.yml``) as
Dagster asset checks, so the UI shows every check's result with its observed value and
threshold. A batch rule that fails (``blocking=True``, severity ERROR) fails the step and stops
everything downstream: no dbt build, no publish. The runner reads the failed check's metadata
(``file``, ``dataset``) to name the file in its one-line reason.

A database source's asset pulls it (``siheyuan.db_sources``) in runs that ask for it: the run
tag ``siheyuan/pull`` lists the datasets to pull (a source's schedule names its own, the landing
sensor none); a run without the tag — ``siheyuan run``, the UI — pulls every database source.
A pull that cannot complete fails the step, so nothing of the run is published.
"""

from collections.abc import Mapping

import dagster as dg

from siheyuan.contracts import SourceContract, load_contracts
from siheyuan.db_sources import PullFailed
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


PULL_TAG = "siheyuan/pull"


def pulls_in_run(tags: Mapping[str, str], dataset: str) -> bool:
    """Whether a run with ``tags`` pulls the database source ``dataset`` (no tag: every one)."""
    if PULL_TAG not in tags:
        return True
    return dataset in {d.strip() for d in tags[PULL_TAG].split(",")}


def _describe(contract: SourceContract) -> tuple[str, set[str], dict]:
    """The asset's description, kinds and metadata: where its batches come from."""
    where = f"contract sources/{contract.department}/{contract.dataset}.yml"
    metadata: dict = {"department": contract.department, "kind": contract.kind}
    if contract.database is None:
        assert contract.file is not None
        origin = f"every batch of `{contract.dataset}` landed as a file"
        return origin, {"duckdb", contract.file.format}, {**metadata, "source": "landing folder"}
    spec = contract.database
    read = f"table {spec.table}" if spec.table else "a read-only query"
    origin = (
        f"pulled from {read} of the database named by ${spec.url_env}"
        + (f", delta on {spec.watermark.column}" if spec.watermark else ", snapshot")
        + f", schedule `{spec.schedule}` ({spec.schedule_timezone})"
    )
    metadata |= {
        "source": "database",
        "url_env": spec.url_env,
        "schedule": spec.schedule,
        "read": read,
    }
    return f"{origin}; {where}", {"duckdb", "sql"}, metadata


def build_ingest_asset(contract: SourceContract) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", contract.dataset])
    definitions = check_definitions(contract)
    origin, kinds, metadata = _describe(contract)

    @dg.asset(
        key=key,
        group_name="ingest",
        kinds=kinds,
        description=(
            f"{contract.title}: {origin}; applied to raw.{contract.dataset} with lineage "
            f"({contract.kind}; checks expectations/{contract.dataset}.yml)."
        ),
        metadata=metadata,
        check_specs=[
            dg.AssetCheckSpec(d.name, asset=key, blocking=d.blocking, description=d.description)
            for d in definitions
        ],
    )
    def _ingest(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        working = warehouse.working_db(context.run.run_id)
        pull = contract.is_database and pulls_in_run(context.run.tags, contract.dataset)
        try:
            outcomes = ingest_dataset(
                working,
                warehouse.layout.database,
                contract,
                warehouse.landing_dir,
                context.run.run_id,
                reports_root=reports_root(warehouse.layout),
                pull_database=pull,
            )
        except PullFailed as exc:
            # not the data's fault, and nothing was written: fail the run, publish nothing
            raise dg.Failure(
                description=str(exc),
                metadata={"dataset": contract.dataset, "source": "database"},
            ) from None
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
                **({"pulled": pull} if contract.is_database else {}),
            },
            check_results=[_check_result(key, d, contract.dataset, outcomes) for d in definitions],
        )

    return _ingest


def build_ingest_assets() -> list[dg.AssetsDefinition]:
    """One asset per contract of the contracts folder in force (``SIHEYUAN_SOURCES``)."""
    return [build_ingest_asset(c) for c in load_contracts().values()]


ingest_assets = build_ingest_assets()
