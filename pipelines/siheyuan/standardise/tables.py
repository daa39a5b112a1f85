"""Raw value -> standard columns, as Arrow tables for the dbt Python models.

The dbt models ``int_std__*`` hand these functions the DISTINCT raw values of the warehouse (a
name or phone recurs across datasets and batches, so there are far fewer distinct values than
records; ``incremental.distinct_keys`` / ``pending`` find them in DuckDB) and join the result
back in SQL. Explicit Arrow schemas keep column types stable even
when a column is all NULL in a small warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pyarrow as pa

from siheyuan.standardise.dates import check_date
from siheyuan.standardise.id_number import check_id_number
from siheyuan.standardise.incremental import std_version
from siheyuan.standardise.names import standardise_name
from siheyuan.standardise.phones import check_phone

ID_SCHEMA = pa.schema(
    [
        ("id_number_raw", pa.string()),
        ("id_number_cleaned", pa.string()),
        ("id_number", pa.string()),
        ("id_number_status", pa.string()),
    ]
)
NAME_SCHEMA = pa.schema(
    [
        ("name_raw", pa.string()),
        ("name_display", pa.string()),
        ("name_normalised", pa.string()),
        ("name_pinyin", pa.string()),
        ("name_initials", pa.string()),
    ]
)
PHONE_SCHEMA = pa.schema(
    [
        ("phone_raw", pa.string()),
        ("phone_e164", pa.string()),
        ("phone_kind", pa.string()),
        ("phone_status", pa.string()),
    ]
)
DATE_SCHEMA = pa.schema(
    [
        ("date_raw", pa.string()),
        ("from_spreadsheet", pa.bool_()),
        ("date_value", pa.date32()),
        ("date_precision", pa.string()),
        ("date_status", pa.string()),
        ("date_form", pa.string()),
    ]
)


def _table(schema: pa.Schema, rows: list[tuple]) -> pa.Table:
    """Rows as a typed table, with the ``std_version`` of the rules that made them."""
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    arrays = [pa.array(list(col), type=f.type) for col, f in zip(columns, schema, strict=True)]
    arrays.append(pa.array([std_version()] * len(rows), type=pa.string()))
    return pa.Table.from_arrays(arrays, schema=schema.append(pa.field("std_version", pa.string())))


def id_number_table(raws: Iterable[str], today: date | None = None) -> pa.Table:
    """One row per distinct raw ID text: cleaned form, canonical number (or NULL), status."""
    rows = []
    for raw in dict.fromkeys(r for r in raws if r is not None):
        c = check_id_number(raw, today=today)
        rows.append((raw, c.cleaned, c.canonical, c.status))
    return _table(ID_SCHEMA, rows)


def name_table(raws: Iterable[str]) -> pa.Table:
    """One row per distinct raw name: display, normalised form, pinyin and initials keys."""
    rows = []
    for raw in dict.fromkeys(r for r in raws if r is not None):
        n = standardise_name(raw)
        rows.append((raw, n.display, n.normalised, n.pinyin, n.initials))
    return _table(NAME_SCHEMA, rows)


def phone_table(raws: Iterable[str]) -> pa.Table:
    """One row per distinct raw phone: E.164 (valid only), kind, status."""
    rows = []
    for raw in dict.fromkeys(r for r in raws if r is not None):
        p = check_phone(raw)
        rows.append((raw, p.e164, p.kind, p.status))
    return _table(PHONE_SCHEMA, rows)


def date_table(values: Iterable[tuple[str, bool]]) -> pa.Table:
    """One row per distinct (raw date text, from a spreadsheet): value, precision, status.

    No upper bound here: whether a date is in the future depends on the record's extract date,
    which SQL compares after the join.
    """
    rows = []
    for raw, sheet in dict.fromkeys(v for v in values if v[0] is not None):
        d = check_date(raw, excel_serial=bool(sheet))
        rows.append((raw, bool(sheet), d.value, d.precision, d.status, d.form))
    return _table(DATE_SCHEMA, rows)
