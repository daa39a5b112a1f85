"""Date arithmetic on int day numbers (days since 1970-01-01), vectorised with numpy."""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)


def day_number(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def from_day(n: int) -> dt.date:
    """The date of a day number."""
    return EPOCH + dt.timedelta(days=int(n))


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` plus whole months (day clipped to 28 is never needed: extracts fall on the 1st)."""
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, d.day)


def ymd_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day arrays of day numbers."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def ymd_int(days: np.ndarray) -> np.ndarray:
    """YYYYMMDD as int64."""
    y, m, d = ymd_parts(days)
    return y * 10000 + m * 100 + d


def age_years(birth: np.ndarray, on_day: int) -> np.ndarray:
    """Completed years of age on ``on_day``."""
    by, bm, bd = ymd_parts(birth)
    oy, om, od = ymd_parts(np.array([on_day]))
    had_birthday = (bm < om[0]) | ((bm == om[0]) & (bd <= od[0]))
    return oy[0] - by - 1 + had_birthday.astype(np.int64)
