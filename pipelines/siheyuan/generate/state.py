"""The generator's world: growable column tables for persons, households and buildings.

Plain numpy columns (not pandas) because the world is built and changed with vectorised
updates and a million persons must fit in little memory; strings are produced only when a
file is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# person status codes
ACTIVE, DECEASED, MOVED_OUT, DEPARTED = 0, 1, 2, 3
STATUS_NAMES = ("active", "deceased", "moved_out", "departed")

# hr codes (index into these tuples)
HR_INSURANCE_STATES = ("正常参保", "暂停缴费", "终止参保")
HR_EMPLOYMENT = ("就业", "失业", "退休")


class Table:
    """Named numpy columns of equal length that can grow by appending rows."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of unequal length: {lengths}")
        self.cols = dict(columns)

    def __len__(self) -> int:
        return len(next(iter(self.cols.values()))) if self.cols else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self.cols[name] = value

    def append(self, rows: dict[str, Any], n: int) -> np.ndarray:
        """Append ``n`` rows; columns not given get their default (-1 / 0 / '' / False).

        Returns the indexes of the new rows.
        """
        start = len(self)
        for name, col in self.cols.items():
            if name in rows:
                new = np.asarray(rows[name])
                if new.ndim == 0:
                    new = np.full(n, new.item() if col.dtype != object else new, dtype=col.dtype)
                new = new.astype(col.dtype, copy=False)
            elif col.dtype == object:
                new = np.full(n, "", dtype=object)
            elif col.dtype == bool:
                new = np.zeros(n, dtype=bool)
            else:
                new = np.full(n, -1, dtype=col.dtype)
            self.cols[name] = np.concatenate([col, new])
        return np.arange(start, start + n)


@dataclass
class Family:
    """One assisted family (civil_assistance): members in 成员序号 order."""

    family_no: int
    kind: str
    members: list[int]
    relations: list[str]
    amounts: list[int]
    start_ym: int
    created_round: int
    stop_round: int = 0  # round in which the family stopped (0 = still assisted)
    stop_style: int = 0  # 1: delivered once more as 停保 before disappearing
    key_rounds: list[int] = field(default_factory=list)  # per member: round its key began

    def key_round(self, i: int) -> int:
        """Round from which member ``i``'s key (家庭编号-成员序号) is delivered."""
        return self.key_rounds[i] if self.key_rounds else self.created_round


@dataclass
class Geography:
    """Streets, communities, compounds and buildings of the district."""

    streets: list[str]
    communities: list[str]
    community_street: list[int]
    compound_name: list[str]
    compound_road: list[str]
    compound_number: list[int]
    compound_street: list[int]
    compound_community: list[int]
    building_compound: np.ndarray
    building_no: np.ndarray
    building_units: np.ndarray
    building_floors: np.ndarray
    building_doors: np.ndarray

    @property
    def n_buildings(self) -> int:
        return len(self.building_compound)


@dataclass
class World:
    """Everything the generator knows at one extract date."""

    seed: int
    persons_requested: int
    geo: Geography
    persons: Table
    households: Table
    families: list[Family]
    employers: list[str]
    round_no: int = 1
    counters: dict[str, int] = field(default_factory=dict)
    # multiplies the monthly event rates of every month after round 1 (config.month_config)
    change_scale: float = 1.0

    def next_numbers(self, name: str, n: int) -> np.ndarray:
        """Reserve ``n`` consecutive record numbers from the named counter."""
        start = self.counters[name]
        self.counters[name] = start + n
        return np.arange(start, start + n, dtype=np.int64)
