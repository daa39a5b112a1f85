"""Code tables shared with dbt: the CSV seeds in ``seeds/`` are the single source.

Python reads the same files dbt loads, so a code added to a seed is known to both without a
second copy in code.
"""

from __future__ import annotations

import csv
from functools import cache

from siheyuan.settings import project_root


@cache
def seed_rows(name: str) -> tuple[dict[str, str], ...]:
    """Rows of ``seeds/<name>.csv`` as dicts of text (codes keep their leading zeros)."""
    path = project_root() / "seeds" / f"{name}.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


@cache
def region_codes() -> frozenset[str]:
    """Every GB/T 2260 county-level code, current or historic (``seeds/gbt2260_region.csv``)."""
    return frozenset(row["code"] for row in seed_rows("gbt2260_region"))


@cache
def province_codes() -> frozenset[str]:
    """The two-digit province prefixes of the region table."""
    return frozenset(code[:2] for code in region_codes())
