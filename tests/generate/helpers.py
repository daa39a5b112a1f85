"""Reading generated files back the way ingest will."""

from __future__ import annotations

import csv
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from python_calamine import CalamineWorkbook

SOURCES = Path(__file__).resolve().parents[2] / "sources"


@cache
def contract(dataset: str) -> dict[str, Any]:
    """The source contract YAML of a dataset."""
    (path,) = SOURCES.glob(f"*/{dataset}.yml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def read_rows(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows (dicts) of a landing file; empty rows are kept as all-empty dicts."""
    dataset = "_".join(path.stem.split("_")[:2])
    c = contract(dataset)
    fmt = c["file"]["format"]
    if fmt == "csv":
        text = path.read_bytes().decode(c["file"]["encoding"])
        rows = list(csv.reader(io.StringIO(text, newline="")))
        return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    if fmt == "jsonl":
        objs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        return (list(objs[0]) if objs else []), objs
    wb = CalamineWorkbook.from_path(str(path))
    table = wb.get_sheet_by_name(c["file"]["sheet"]).to_python(skip_empty_area=False)
    header = [str(h) for h in table[0]]
    return header, [dict(zip(header, r, strict=True)) for r in table[1:]]


def read_csv(path: Path) -> list[dict[str, str]]:
    """A truth CSV."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def source_key(dataset: str, row: dict[str, Any]) -> str:
    """The key the hub computes for a row (trimmed; civil: 家庭编号-成员序号)."""
    cols = contract(dataset)["key"]["columns"]

    def text(v: Any) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return "" if v is None else str(v).strip()

    return "-".join(text(row.get(c)) for c in cols)
