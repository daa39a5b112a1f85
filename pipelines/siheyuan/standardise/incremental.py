"""Standardise only what is new: the incremental side of the ``int_std__*`` dbt Python models.

Every run rebuilds the warehouse models from the full raw history, but the distinct raw values
barely change from one monthly batch to the next. The standardisation tables therefore keep
their rows between runs (dbt incremental, delete+insert on the raw value) and each run only
standardises values that have no row yet — or whose row was made by different rules.

"Different rules" is ``std_version``: a hash of the standardising modules, the code table they
read and the library versions. Changing any of them makes every row stale, so the next run
recomputes all values; nothing computed under old rules survives a rule change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from siheyuan.settings import project_root

_MODULES = ("text", "codes", "id_number", "dates", "phones", "names", "tables", "incremental")
_SEEDS = ("gbt2260_region",)
_LIBRARIES = ("phonenumbers", "opencc", "pypinyin", "pyarrow")


@cache
def std_version() -> str:
    """Short hash of everything that decides a standardised value."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _MODULES:
        h.update((here / f"{name}.py").read_bytes())
    for name in _SEEDS:
        h.update((project_root() / "seeds" / f"{name}.csv").read_bytes())
    for lib in _LIBRARIES:
        h.update(f"{lib}={version(lib)}".encode())
    return h.hexdigest()[:16]


def pending(
    session: Any,
    this: str,
    keys: Sequence[str],
    values: Sequence[Any],
    recheck: str | None = None,
) -> list[Any]:
    """The values (single keys, or tuples for several ``keys``) without a current row in ``this``.

    ``recheck`` is a SQL condition on ``this`` for rows to compute again even when current
    (e.g. an ID whose birth date was after the latest extract then: it may be plausible now).
    """
    existing = set(session.sql(f"select * from {this} limit 0").columns)
    if not {*keys, "std_version"} <= existing:  # made before std_version existed: all stale
        return list(values)
    cols = ", ".join(f'"{k}"' for k in keys)
    where = f"std_version = '{std_version()}'"
    if recheck:
        where += f" and not ({recheck})"
    done = {
        row if len(keys) > 1 else row[0]
        for row in session.sql(f"select {cols} from {this} where {where}").fetchall()
    }
    return [v for v in values if v not in done]
