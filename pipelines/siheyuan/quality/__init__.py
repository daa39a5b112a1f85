"""The data-quality gate between a landed file and ``raw.<dataset>`` (see docs/decisions/0006).

* ``config``     — ``expectations/<dataset>.yml``: every threshold, the GX suite, check names
* ``structure``  — pandera schema per dataset from its source contract (types, formats, shapes)
* ``semantic``   — the Great Expectations suite on the batch as a DataFrame; Data Docs offline
* ``gate``       — one batch's verdict: quarantine share, suite, overrides → apply or reject
* ``overrides``  — ``accept_batch``: deliberately accept a batch a threshold blocked
* ``results``    — ``CheckResult`` and ``meta.check_result``
* ``privacy``    — masking of ID numbers (also written in groups), phones and health-condition
  words (``sensitive_terms.yml``) in any text the gate writes
"""

from __future__ import annotations

from pathlib import Path

from siheyuan.settings import WarehouseLayout


def reports_root(layout: WarehouseLayout) -> Path:
    """Where the warehouse keeps its quality reports (the GX project and its Data Docs)."""
    return layout.root / "reports"


def data_docs_index(layout: WarehouseLayout) -> Path | None:
    """The GX Data Docs ``index.html`` of this warehouse, or None before any batch was checked.

    Built offline by every run that checked a batch; the pages load GX's CSS/JS from a CDN, so
    offline they render unstyled but complete.
    """
    index = reports_root(layout) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return index if index.exists() else None
