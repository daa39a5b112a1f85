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


@cache
def id_region_codes() -> frozenset[str]:
    """The codes a citizen ID number can carry: county-level codes, current or historic.

    Why not every code in the table: the table also lists provinces (``330000``) and
    prefectures (``330100``), which no public security bureau issues numbers under. The one
    exception the table itself shows is a prefecture-level city with no county-level division
    (东莞 441900, 中山 442000, 儋州 460400, and historic 沙市 420400, 三亚 441100, 石河子
    650300): there the city's own ``..00`` code is the issuing region. It is derived here from
    the seed (a ``..00`` code with no county code under it), not listed in code.
    """
    codes = region_codes()
    counties = {c for c in codes if not c.endswith("00")}
    with_counties = {c[:4] for c in counties}
    prefectures = {c for c in codes if c.endswith("00") and not c.endswith("0000")}
    undivided = {c for c in prefectures if c[:4] not in with_counties}
    return frozenset(counties | undivided)
