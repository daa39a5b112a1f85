"""Citizen ID numbers (GB 11643-1999): 6-digit region, YYYYMMDD, 3-digit sequence, check digit.

The sequence is odd for men and even for women; the check digit is ISO 7064 MOD 11-2
(0-9 or X).  Everything is vectorised because a million IDs are built at once.
"""

from __future__ import annotations

import numpy as np

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    """The check character for 17 digits."""
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def is_valid(id18: str) -> bool:
    """True when ``id18`` is 17 digits plus the right check character."""
    return len(id18) == 18 and id18[:17].isdigit() and check_char(id18[:17]) == id18[17]


def id17_numbers(region: np.ndarray, ymd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """The first 17 digits as int64 (region * 10**11 + YYYYMMDD * 1000 + seq)."""
    return region.astype(np.int64) * 10**11 + ymd.astype(np.int64) * 1000 + seq.astype(np.int64)


def check_indexes(id17: np.ndarray) -> np.ndarray:
    """Index into CHECK_CHARS for each 17-digit number."""
    total = np.zeros(len(id17), dtype=np.int64)
    rest = id17.astype(np.int64)
    for w in reversed(WEIGHTS):
        total += (rest % 10) * w
        rest //= 10
    return total % 11


def id18_strings(id17: np.ndarray) -> list[str]:
    """Canonical 18-character ID strings."""
    checks = check_indexes(id17)
    return [
        f"{n:017d}{CHECK_CHARS[c]}" for n, c in zip(id17.tolist(), checks.tolist(), strict=True)
    ]


def to_15(id18: str) -> str:
    """The pre-1999 15-digit form: region, YYMMDD (century dropped), sequence, no check digit."""
    return id18[:6] + id18[8:17]


def sequences(keys: np.ndarray, male: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """Distinct 3-digit sequences for people sharing region and birth date (``keys``).

    Odd for men, even for women (never 000), so two people never share an ID number.
    """
    n = len(keys)
    order = np.lexsort((gen.random(n), male, keys))
    k_sorted = keys[order]
    m_sorted = male[order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (k_sorted[1:] != k_sorted[:-1]) | (m_sorted[1:] != m_sorted[:-1])
    starts = np.flatnonzero(new_group)
    group_id = np.cumsum(new_group) - 1
    rank = np.arange(n) - starts[group_id]
    offset = gen.integers(0, 499, size=len(starts))[group_id]
    slot = 1 + (offset + rank) % 499  # 1..499
    seq_sorted = np.where(m_sorted, 2 * slot - 1, 2 * slot)
    out = np.empty(n, dtype=np.int64)
    out[order] = seq_sorted
    return out
