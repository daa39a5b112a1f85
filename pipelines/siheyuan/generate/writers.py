"""Writing extracts in each department's exact format (encoding, quoting, sheet, JSON shape)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import xlsxwriter

from .extracts import Extract


def _rows(ex: Extract) -> list[tuple[Any, ...]]:
    return list(zip(*(ex.values[c] for c in ex.columns), strict=True))


def write_csv(
    path: Path, ex: Extract, order: list[int], *, encoding: str, quote_all: bool, newline: str
) -> None:
    """Header row plus data rows; an empty row is a line of only commas."""
    rows = _rows(ex)
    empty = "," * (len(ex.columns) - 1) + newline
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(
            f, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator=newline
        )
        w.writerow(ex.columns)
        for i in order:
            if i < 0:
                f.write(empty)
            else:
                w.writerow(rows[i])


def write_jsonl(path: Path, ex: Extract, order: list[int]) -> None:
    """One JSON object a line, UTF-8, keys in contract order, nulls as null."""
    rows = _rows(ex)
    cols = ex.columns
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for i in order:
            if i < 0:
                f.write("\n")
            else:
                f.write(json.dumps(dict(zip(cols, rows[i], strict=True)), ensure_ascii=False))
                f.write("\n")


def write_xlsx(
    path: Path, ex: Extract, order: list[int], *, sheet: str, created: dt.datetime
) -> None:
    """Sheet ``sheet`` with the header in row 1; numbers and dates as real cells.

    constant_memory keeps a million-row sheet out of RAM; a fixed creation time keeps the
    file byte-identical for the same seed.
    """
    rows = _rows(ex)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": created, "author": "siheyuan generator"})
    date_fmt = wb.add_format({"num_format": "yyyy/m/d"})
    ws = wb.add_worksheet(sheet)
    for c, name in enumerate(ex.columns):
        ws.write_string(0, c, name)
    r = 1
    for i in order:
        if i >= 0:
            for c, v in enumerate(rows[i]):
                if v is None:
                    continue
                if isinstance(v, str):
                    ws.write_string(r, c, v)
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
                else:
                    ws.write_number(r, c, v)
        r += 1
    wb.close()
