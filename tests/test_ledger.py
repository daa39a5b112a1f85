"""Row accounting on every generated batch: nothing received is unaccounted for.

Two monthly rounds of a small generated district are applied in one run (plus one unusable row,
so the quarantine is exercised too); for every batch file the
ledger (``siheyuan report --json``) must balance, received = accepted + quarantined + duplicate,
the quarantine must hold exactly the rows it counts, and every accepted (dataset, source key) must
be in the published ``resident_source_xref.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from siheyuan.generate import generate_sample
from siheyuan.publish import read_current
from siheyuan.report import ledger_json, quarantine_json
from siheyuan.runner import run_job
from siheyuan.settings import WarehouseLayout

pytestmark = pytest.mark.slow

PERSONS = 250
SEED = 31


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WarehouseLayout]:
    sample = tmp_path_factory.mktemp("sample")
    for round_no in (1, 2):
        generate_sample(persons=PERSONS, seed=SEED, out=sample, round_no=round_no)
    # A row whose source key is missing: the gate must quarantine it and the ledger count it.
    hukou = sorted((sample / "landing" / "police").glob("police_hukou_*.csv"))[-1]
    lines = hukou.read_text(encoding="utf-8").splitlines()
    hukou.write_text("\n".join([*lines, "," + lines[-1].split(",", 1)[1]]) + "\n", "utf-8")
    layout = WarehouseLayout(tmp_path_factory.mktemp("warehouse"))
    report = run_job(sample / "landing", layout.root)
    assert report.status == "published", report.message
    return sample / "landing", layout


def test_every_generated_batch_is_in_the_ledger_once(applied) -> None:
    landing, layout = applied
    generated = sorted(p.name for p in landing.rglob("*.*"))
    batches = ledger_json(layout)["batches"]
    assert sorted(b["file"] for b in batches) == generated
    assert {b["status"] for b in batches} == {"applied"}


def test_received_is_accepted_plus_quarantined_plus_duplicates(applied) -> None:
    _, layout = applied
    batches = ledger_json(layout)["batches"]
    quarantined: dict[str, int] = {}
    for row in quarantine_json(layout):
        quarantined[row["file"]] = quarantined.get(row["file"], 0) + 1
    for b in batches:
        assert b["rows_received"] > 0, b["file"]
        assert b["rows_received"] == (
            b["rows_accepted"] + b["rows_quarantined"] + b["rows_duplicate"]
        ), b["file"]
        assert quarantined.get(b["file"], 0) == b["rows_quarantined"], b["file"]
    assert sum(quarantined.values()) >= 1  # the injected row, at least


def test_every_accepted_record_is_in_the_published_xref(applied) -> None:
    _, layout = applied
    xref_path = layout.published / read_current(layout) / "resident_source_xref.parquet"
    xref = pq.read_table(xref_path, columns=["source_dataset", "source_key"])
    published = set(zip(xref.column(0).to_pylist(), xref.column(1).to_pylist(), strict=True))
    with duckdb.connect(str(layout.database), read_only=True) as conn:
        datasets = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
            ).fetchall()
        ]
        accepted = {
            (d, k)
            for d in datasets
            for (k,) in conn.execute(f'SELECT DISTINCT _source_key FROM raw."{d}"').fetchall()
        }
    assert accepted and accepted <= published
    # The report's per-batch figure says the same: every accepted row's key is published.
    for b in ledger_json(layout)["batches"]:
        assert b["rows_in_xref"] == b["rows_accepted"], b["file"]
