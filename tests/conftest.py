"""Shared test set-up: no network, no telemetry, no Dagster home left behind.

The suite starts from none of the caller's ``SIHEYUAN_*`` settings: a shell that exported, say,
``SIHEYUAN_KEEP_VERSIONS=1`` or a crash point would otherwise change what the tests see. Tests
that need one set it themselves (``monkeypatch.setenv`` or a subprocess environment).
"""

from __future__ import annotations

import os

for _name in [n for n in os.environ if n.startswith("SIHEYUAN_")]:
    del os.environ[_name]

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
