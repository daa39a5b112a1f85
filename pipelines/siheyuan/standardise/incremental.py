"""Standardise only what is new: the incremental side of the ``int_std__*`` dbt Python models.

Every run rebuilds the warehouse models from the full raw history, but the distinct raw values
barely change from one monthly batch to the next. The standardisation tables therefore keep
their rows between runs (dbt incremental, delete+insert on the raw value) and each run only
standardises values that have no row yet — or whose row was made by different rules.

"Different rules" is ``std_version``: a hash of the standardising modules, the code tables they
read and the library versions. Changing any of them makes every row stale, so the next run
recomputes all values; nothing computed under old rules survives a rule change.

Which values are pending is an anti-join inside DuckDB (the distinct raw values against the
current rows of the table): Python only receives the values it has to standardise, not every
value already done.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from siheyuan.settings import project_root

_MODULES = ("text", "codes", "id_number", "dates", "phones", "names", "tables", "incremental")
_SEEDS = ("gbt2260_region", "surname_pinyin")
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


def distinct_keys(parts: Iterable[Any]) -> Any:
    """The DISTINCT rows of DuckDB relations that share their columns (the keys), first key set.

    Each part is a model's column projected onto the key names, e.g.
    ``rel.project('"id_number" as id_number_raw')``; the union and DISTINCT run in DuckDB.
    """
    rels = list(parts)
    union = rels[0]
    for rel in rels[1:]:
        union = union.union(rel)
    return union.filter(f'"{union.columns[0]}" is not null').distinct()


def values_of(candidates: Any) -> list[Any]:
    """The rows of a key relation as Python values: single keys, or tuples for several keys."""
    cols = candidates.columns
    rows = candidates.order(", ".join(f'"{c}"' for c in cols)).fetchall()
    return [row if len(cols) > 1 else row[0] for row in rows]


def pending(
    session: Any,
    this: str,
    keys: Sequence[str],
    candidates: Any,
    recheck: str | None = None,
    version: str | None = None,
) -> list[Any]:
    """The rows of ``candidates`` (a relation with the ``keys`` columns) without a current row.

    ``recheck`` is a SQL condition on ``this`` for rows to compute again even when current
    (e.g. an ID whose birth date was after the latest extract then: it may be plausible now).
    ``version`` is what a current row's ``std_version`` holds, :func:`std_version` unless the
    table's values depend on more (the address parts also depend on the home district).
    """
    existing = set(session.sql(f"select * from {this} limit 0").columns)
    if not {*keys, "std_version"} <= existing:  # made before std_version existed: all stale
        return values_of(candidates)
    cols = ", ".join(f'"{k}"' for k in keys)
    where = f"std_version = '{version or std_version()}'"
    if recheck:
        where += f" and not ({recheck})"
    done = session.sql(f"select {cols} from {this} where {where}")
    return values_of(candidates.join(done, list(keys), how="anti"))
