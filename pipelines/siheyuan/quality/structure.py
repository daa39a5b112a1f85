"""The structural layer: one pandera schema per dataset, derived from its source contract.

The contract declares each column's type and date formats; ``expectations/<dataset>.yml`` adds the
shape of coded columns. The schema checks that every declared column is there and that every
value fits its column, lazily, so all misfits of a batch are collected at once.

One misfit is a bad *value* (an impossible birth date, a date in another format): the record is
still a real person, so it is kept raw and flagged downstream. Several misfits in one row mean
the row itself is broken — a field went missing and another was added, so every value after the
gap sits in the wrong column — and the row goes to the quarantine (``garbled_row``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import pandas as pd
import pandera.pandas as pa

from siheyuan.contracts import ColumnSpec, SourceContract
from siheyuan.quality.config import STRUCTURE, StructureSettings
from siheyuan.quality.distinct import judge_distinct
from siheyuan.quality.results import CheckResult
from siheyuan.readers import RawRow, RowProblem


@lru_cache(maxsize=200_000)
def parse_declared_date(value: str, formats: tuple[str, ...]) -> date | None:
    """The day ``value`` names in one of the contract's declared formats, else None.

    Cached: birth and registration dates repeat across a population, and ``strptime`` is slow.
    """
    text = value.strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _parses_as_date(formats: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda value: parse_declared_date(value, formats) is not None


def _is_integer(value: str) -> bool:
    return value.strip().isdigit()


def _is_decimal(value: str) -> bool:
    try:
        float(value.strip())
    except ValueError:
        return False
    return True


def _is_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def _is_string_list(value: str) -> bool:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return False
    return isinstance(parsed, list) and all(isinstance(x, str) for x in parsed)


def _value_check(column: ColumnSpec) -> pa.Check | None:
    """The contract's type of ``column`` as an element-wise pandera check (None for text)."""
    if column.type in ("date", "month") and column.formats:
        test, what = _parses_as_date(column.formats), f"{column.type} as {'/'.join(column.formats)}"
    elif column.type == "integer":
        test, what = _is_integer, "an integer"
    elif column.type == "decimal":
        test, what = _is_decimal, "a number"
    elif column.type == "timestamp":
        test, what = _is_timestamp, "an ISO timestamp"
    elif column.type == "string_list":
        test, what = _is_string_list, "a JSON list of strings"
    else:
        return None
    return pa.Check(_by_distinct_value(test), name=f"is {what}")


def _by_distinct_value(test: Callable[[str], bool]) -> Callable[[pd.Series], pd.Series]:
    """``test`` as a column check that judges each distinct value once (an empty one passes).

    Why: most shape-checked columns are codes and dates, whose values repeat across a snapshot
    (two sexes, a few statuses, some 40,000 birth days); pandera's element-wise checks call
    ``test`` on every one of a million cells.
    """

    def check(column: pd.Series) -> pd.Series:
        verdicts = judge_distinct(column, lambda v: bool(test(v)), missing=True)
        return pd.Series(verdicts, index=column.index, dtype=bool)

    return check


def build_schema(contract: SourceContract, settings: StructureSettings) -> pa.DataFrameSchema:
    """The dataset's pandera schema: every declared column present, every value in shape."""
    columns = {}
    for column in contract.columns:
        checks = []
        typed = _value_check(column)
        if typed is not None:
            checks.append(typed)
        pattern = settings.patterns.get(column.name)
        if pattern is not None:
            compiled = re.compile(pattern)
            checks.append(
                pa.Check(
                    _by_distinct_value(lambda v, rx=compiled: rx.fullmatch(v) is not None),
                    name="matches its code pattern",
                )
            )
        columns[column.name] = pa.Column(object, checks=checks, nullable=True, required=True)
    unknown = set(settings.patterns) - set(contract.column_names)
    if unknown:
        raise ValueError(f"{contract.dataset}: patterns for undeclared columns {sorted(unknown)}")
    return pa.DataFrameSchema(columns, name=contract.dataset, strict=False)


def rows_frame(contract: SourceContract, rows: list[RawRow]) -> pd.DataFrame:
    """The rows as text, indexed by their physical row number (the lineage an auditor sees)."""
    return pd.DataFrame(
        [r.values for r in rows],
        columns=contract.column_names,
        index=pd.Index([r.row_number for r in rows], name="row_number"),
        dtype=object,
    )


@dataclass
class StructureOutcome:
    kept: list[RawRow]
    garbled: list[RowProblem]
    check: CheckResult


def check_structure(
    contract: SourceContract, settings: StructureSettings, rows: list[RawRow]
) -> StructureOutcome:
    """Validate lazily; quarantine rows with too many misfits, keep rows with a bad value."""
    schema = build_schema(contract, settings)
    frame = rows_frame(contract, rows)
    misfits: dict[int, set[str]] = {}
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        for column, index in zip(cases["column"], cases["index"], strict=True):
            if index is None or pd.isna(index):
                # a schema-level failure (a column missing): the readers reject those first
                raise ValueError(f"{contract.dataset}: schema failure without a row") from exc
            misfits.setdefault(int(index), set()).add(str(column))
    threshold = settings.garbled_row_min_failures
    garbled_rows = {n for n, cols in misfits.items() if len(cols) >= threshold}
    order = contract.column_names
    garbled = [
        RowProblem(
            r.row_number,
            "garbled_row",
            f"{len(misfits[r.row_number])} values do not fit their columns "
            f"({', '.join(sorted(misfits[r.row_number], key=order.index))}): "
            "the row is shifted or cut",
            None,  # the key column of a shifted row holds a slid value (often an ID number)
        )
        for r in rows
        if r.row_number in garbled_rows
    ]
    kept = [r for r in rows if r.row_number not in garbled_rows]
    per_column: dict[str, int] = {}
    for n, cols in misfits.items():
        if n not in garbled_rows:
            for c in cols:
                per_column[c] = per_column.get(c, 0) + 1
    values = ", ".join(f"{c}: {k}" for c, k in sorted(per_column.items(), key=lambda x: -x[1]))
    check = CheckResult(
        STRUCTURE,
        "structural",
        blocking=False,
        passed=not garbled,
        observed=f"{len(garbled)} garbled row(s) of {len(rows)}",
        threshold=f"a row with >= {threshold} misfit values is garbled",
        detail=(f"values kept but not in their declared shape — {values}" if values else None),
    )
    return StructureOutcome(kept, garbled, check)
