"""The semantic layer: a Great Expectations suite per dataset, run on the batch as a DataFrame.

The suite is written in ``expectations/<dataset>.yml`` (expectation type, its arguments, its
threshold ``mostly``, whether a failure blocks the batch); this module turns it into a GX suite
and validates the batch's readable rows in pandas — GX's SQL datasource does not work on DuckDB.

Privacy: GX keeps examples of unexpected values in its results and Data Docs. The frame it sees
therefore never holds a sensitive column (ID number, phone, health condition): rules about those
run on *derived* columns (``id_number_valid``: true/false/null) computed here.

The GX project lives in ``<warehouse>/reports/gx`` (file mode, analytics off, Data Docs built
there offline); without a reports folder (unit tests) the context is ephemeral.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from siheyuan.contracts import SourceContract
from siheyuan.quality.config import (
    ROW_COUNT_CHANGE,
    ROW_COUNT_DROP,
    DerivedColumn,
    QualitySettings,
)
from siheyuan.quality.distinct import judge_distinct
from siheyuan.quality.results import CheckResult
from siheyuan.quality.structure import parse_declared_date
from siheyuan.readers import RawRow
from siheyuan.standardise.id_number import check_id_number, id_numbers_usable

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
log = logging.getLogger(__name__)

DATASOURCE = "siheyuan"
SOURCE_KEY = "_source_key"


EARLIEST_DATE = date(1880, 1, 1)

# Counts only. By default GX keeps up to 20 example values per expectation
# (``partial_unexpected_list``) in the validation JSON and the Data Docs: a sensitive value
# delivered in a non-sensitive column (an ID number in the sex column, a condition in a status)
# is a single misfit, so its row is kept and the value would reach those files. BASIC rather
# than SUMMARY: the same counts, without SUMMARY's tally of the unexpected values (a quarter of
# the suite's time on an 800,000-row snapshot).
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0}


def _derive(rule: DerivedColumn, raw: str | None, extract_date: date, formats) -> bool | None:
    """True/False for a delivered value, None when there is nothing to judge (empty).

    ``present`` judges emptiness itself: False for an empty value, so a completeness rule sees
    a key that was renamed away (every value missing) instead of ignoring missing values.
    """
    if rule.rule == "present":
        return raw is not None and bool(raw.strip())
    if raw is None or not raw.strip():
        return None
    if rule.rule == "id_number_valid":
        return check_id_number(raw, today=extract_date).usable
    day = parse_declared_date(raw, formats)
    return day is not None and EARLIEST_DATE <= day <= extract_date


def derive_column(
    rule: DerivedColumn, raw: list[str | None], extract_date: date, formats
) -> list[bool | None]:
    """:func:`_derive` over a whole column (the gate judges every row of every batch).

    ID numbers are nearly all distinct: they are judged by :func:`id_numbers_usable`, with array
    arithmetic. Dates and presence repeat (a population has some 40,000 birth days), so each
    distinct value is judged once.
    """
    if rule.rule != "id_number_valid":
        return judge_distinct(
            raw,
            lambda v: _derive(rule, v, extract_date, formats),
            missing=_derive(rule, None, extract_date, formats),
        )
    blank = [v is None or not v.strip() for v in raw]
    usable = id_numbers_usable(
        ["" if b else v for v, b in zip(raw, blank, strict=True)], extract_date
    )
    return [None if b else u for u, b in zip(usable, blank, strict=True)]


def suite_columns(settings: QualitySettings) -> set[str]:
    """The columns the dataset's expectations name (GX is given only these)."""
    named: set[str] = set()
    for e in settings.expectations:
        for key in ("column", "column_A", "column_B"):
            if isinstance(e.kwargs.get(key), str):
                named.add(e.kwargs[key])
        named.update(e.kwargs.get("column_list") or ())
    return named


def batch_frame(
    contract: SourceContract,
    settings: QualitySettings,
    rows: list[RawRow],
    extract_date: date,
    keys: list[str | None] | None = None,
) -> pd.DataFrame:
    """The columns the suite names — never a sensitive one — the source key and the derived
    columns, which carry a judgement of a sensitive value (valid or not), never the value.

    Only the named columns: GX fingerprints the whole frame it is given (hashing every value),
    so a column no expectation reads would cost time and add nothing. ``keys``: the rows'
    source keys when the caller has them (else worked out here).
    """
    sensitive = contract.sensitive_columns
    named = suite_columns(settings)
    keep = [c for c in contract.column_names if c not in sensitive and c in named]
    data: dict[str, list[Any]] = {c: [r.values.get(c) for r in rows] for c in keep}
    data[SOURCE_KEY] = (
        list(keys) if keys is not None else [contract.source_key(r.values) for r in rows]
    )
    declared = {c.name: c.formats for c in contract.columns}
    for name, rule in settings.derived.items():
        values = [r.values.get(rule.source) for r in rows]
        derived = derive_column(rule, values, extract_date, declared[rule.source])
        when = rule.when_column
        if when is not None:
            allowed = set(rule.when_in)
            judged = [(r.values.get(when) or "").strip() in allowed for r in rows]
            derived = [d if j else None for d, j in zip(derived, judged, strict=True)]
        data[name] = derived
    return pd.DataFrame(data, dtype=object)


@cache
def _context(project_root: str | None):
    import great_expectations as gx

    if project_root is None:
        context = gx.get_context(mode="ephemeral")
    else:
        context = gx.get_context(mode="file", project_root_dir=project_root)
    context.variables.analytics_enabled = False
    context.variables.progress_bars = {"globally": False}
    if project_root is not None:
        context.variables.save()
    return context


def _expectation(type_name: str, kwargs: dict[str, Any]):
    import great_expectations as gx

    class_name = "".join(part.capitalize() for part in type_name.split("_"))
    return getattr(gx.expectations, class_name)(**kwargs)


def _describe(result: Any) -> tuple[str | None, str | None]:
    """(observed, threshold) of one expectation result, as short text without values."""
    r = result.result or {}
    kwargs = result.expectation_config.kwargs
    if "observed_value" in r:
        observed = f"{r['observed_value']} rows"
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        return observed, f"at least {low} rows" if high is None else f"{low} to {high} rows"
    if "unexpected_count" in r:
        checked = r.get("element_count", 0) - r.get("missing_count", 0)
        share = r.get("unexpected_percent_nonmissing") or 0.0
        observed = f"{r['unexpected_count']} of {checked} unexpected ({share:.1f}%)"
        mostly = kwargs.get("mostly", 1.0)
        return observed, f"at least {mostly:.0%} of values as expected"
    return None, None


def validate(
    contract: SourceContract,
    settings: QualitySettings,
    frame: pd.DataFrame,
    previous_rows: int | None,
    reports_root: Path | None,
) -> list[CheckResult]:
    """Run the dataset's suite on ``frame``; one :class:`CheckResult` per expectation."""
    import great_expectations as gx

    context = _context(str(reports_root) if reports_root is not None else None)
    checks = [(e.check, e.blocking, _expectation(e.type, e.kwargs)) for e in settings.expectations]
    drops = {
        ROW_COUNT_CHANGE: (settings.batch.max_row_drop_share, True),
        ROW_COUNT_DROP: (settings.batch.warn_row_drop_share, False),
    }
    if contract.kind == "snapshot" and previous_rows:
        row_counts = [
            (name, blocks, gx.expectations.ExpectTableRowCountToBeBetween(min_value=minimum))
            for name, (drop, blocks) in drops.items()
            if drop is not None and (minimum := math.ceil(previous_rows * (1 - drop)))
        ]
        checks = row_counts + checks
    source = context.data_sources.add_or_update_pandas(DATASOURCE)
    try:
        asset = source.get_asset(contract.dataset)
    except LookupError:
        asset = source.add_dataframe_asset(contract.dataset)
    try:
        batch_def = asset.get_batch_definition("batch")
    except (KeyError, LookupError):
        batch_def = asset.add_batch_definition_whole_dataframe("batch")
    suite = context.suites.add_or_update(
        gx.ExpectationSuite(name=contract.dataset, expectations=[e for _, _, e in checks])
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=contract.dataset, data=batch_def, suite=suite)
    )
    outcome = definition.run(batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT)
    small = len(frame) < settings.batch.min_rows_for_shares
    results: list[CheckResult] = []
    for (name, blocking, _), result in zip(checks, outcome.results, strict=True):
        observed, threshold = _describe(result)
        judged = not (small and "mostly" in result.expectation_config.kwargs)
        detail = None
        if not judged:
            blocking = False
            minimum_rows = settings.batch.min_rows_for_shares
            detail = f"{len(frame)} rows: too few to judge a share (min {minimum_rows})"
        if result.exception_info and result.exception_info.get("raised_exception"):
            detail = "the expectation could not be evaluated (see the GX validation result)"
        if name in drops:
            drop = drops[name][0]
            threshold = f"{threshold} (previous snapshot {previous_rows} rows, max drop {drop:.0%})"
        passed = bool(result.success)
        results.append(
            CheckResult(
                name, "semantic", blocking, passed, observed, threshold, detail, judged=judged
            )
        )
    return results


def prune_validations(reports_root: Path, keep: int) -> list[str]:
    """Delete each suite's GX validation results beyond its newest ``keep``, with their pages.

    Why: Data Docs re-render every stored result on each build, so without a limit every run of
    a long-lived warehouse gets slower and the folder grows without end. GX's files are a view;
    the gate's verdict on every check of every batch stays in ``meta.check_result`` for good.
    Results are folders named by their UTC run time (``20261123T174030.318024Z``), so name order
    is time order. Returns the removed results as ``<suite>/<run time>``.
    """
    site = reports_root / "gx" / "uncommitted"
    store = site / "validations"
    pages = site / "data_docs" / "local_site" / "validations"
    removed: list[str] = []
    if not store.is_dir():
        return removed
    for suite in sorted(p for p in store.iterdir() if p.is_dir()):
        runs = sorted((r for r in suite.glob("*/*") if r.is_dir()), key=lambda r: r.name)
        for run in runs[: max(0, len(runs) - max(keep, 1))]:
            relative = run.relative_to(store)
            shutil.rmtree(run)
            shutil.rmtree(pages / relative, ignore_errors=True)
            removed.append(f"{suite.name}/{run.name}")
    return removed


def build_data_docs(reports_root: Path, keep: int | None = None) -> Path | None:
    """Rebuild the GX Data Docs of the warehouse's GX project (offline); the index, if any.

    With ``keep``, each suite's results beyond its newest ``keep`` are pruned first.
    """
    if keep is not None:
        removed = prune_validations(reports_root, keep)
        if removed:
            log.info("GX: pruned %d validation result(s) beyond %d per suite", len(removed), keep)
    try:
        _context(str(reports_root)).build_data_docs()
    except Exception as exc:  # docs are a view; a failure to render must not fail the batch
        log.warning("GX Data Docs could not be built: %s", type(exc).__name__)
    index = reports_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return index if index.exists() else None
