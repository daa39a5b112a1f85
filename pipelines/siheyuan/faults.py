"""Crash points: a TEST HOOK that kills a run, like a power cut, at a named step.

The promise of ``docs/decisions/0002-atomic-runs.md`` is that a run killed at *any* point leaves
CURRENT on the last complete version and that the next run ends exactly where an uninterrupted
one would have. Timing-based kills only ever hit the long steps; these named points let the tests
(``tests/test_faults.py``) stop a run deterministically between two writes of the publish.

``SIHEYUAN_CRASH_AT=<point>`` makes the run SIGKILL its whole process group when it reaches that
point (the dbt subprocess dies with it, nothing is cleaned up, no ``finally`` runs). Start such a
run in its own session (``start_new_session=True``): the group it kills is its own. Unset, every
crash point is a no-op costing one environment lookup. Never set it outside tests.
"""

from __future__ import annotations

import os
import signal
import sys

CRASH_ENV = "SIHEYUAN_CRASH_AT"

# In the order a run reaches them.
CRASH_POINTS: tuple[str, ...] = (
    "dbt.during_build",  # dbt subprocess running (after its first event)
    "publish.before_write",  # marts built in the working copy, nothing published
    "publish.mid_parquet",  # .<version>.partial/ holds some of the tables
    "publish.after_views",  # the partial folder holds tables, views and audit.json, no manifest
    "publish.before_rename",  # the partial folder is complete, not yet renamed
    "publish.before_record",  # published/<version>/ exists, not recorded in any database
    "publish.before_swap",  # recorded in the working database, live database not replaced
    "publish.before_current",  # live database replaced (committed), CURRENT not yet moved
    "prune.mid_delete",  # an old version renamed to .<version>.deleting, not yet removed
)


def crash_point(name: str) -> None:
    """Die here with SIGKILL (the whole process group) when ``SIHEYUAN_CRASH_AT`` names ``name``."""
    target = os.environ.get(CRASH_ENV)
    if not target:
        return
    if target not in CRASH_POINTS:
        # A misspelt point would silently never fire and the test would prove nothing.
        raise ValueError(f"{CRASH_ENV}={target!r} is not a crash point: {', '.join(CRASH_POINTS)}")
    if name not in CRASH_POINTS:
        raise ValueError(f"crash_point({name!r}) is not declared in CRASH_POINTS")
    if target != name:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)  # not reached: the group includes this process
