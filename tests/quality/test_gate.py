"""The gate on small batches through ``ingest_dataset``: thresholds, records, overrides."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from siheyuan.contracts import load_contracts
from siheyuan.ingest import ingest_dataset
from siheyuan.quality.overrides import accept_batch
from siheyuan.settings import WarehouseLayout
from siheyuan.standardise.id_number import check_char
from siheyuan.warehouse import initialise

CONTRACTS = load_contracts()
HUKOU = CONTRACTS["police_hukou"]
HEADER = ",".join(HUKOU.column_names)


def _id(n: int) -> str:
    body = f"33010619850302{n % 1000:03d}"
    return body + check_char(body)


def _row(n: int, name: str = "张伟", id_number: str | None = None) -> str:
    idn = id_number if id_number is not None else _id(n)
    return f"P{n},{idn},{name},,1,01,19850302,H001,02,学院路77号,正常,"


def _land(landing: Path, name: str, rows: list[str]) -> Path:
    path = landing / "police" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def dbs(tmp_path: Path) -> tuple[Path, WarehouseLayout]:
    layout = WarehouseLayout(tmp_path / "warehouse")
    work = tmp_path / "work.duckdb"
    initialise(work, CONTRACTS)
    initialise(layout.database, CONTRACTS)
    return work, layout


def _checks(db: Path, file_name: str) -> dict[str, tuple[bool, bool]]:
    with duckdb.connect(str(db)) as conn:
        rows = conn.execute(
            "SELECT check_name, passed, overridden FROM meta.check_result WHERE file_name = ?",
            [file_name],
        ).fetchall()
    return {name: (passed, overridden) for name, passed, overridden in rows}


def test_too_many_quarantined_rows_reject_the_batch_and_an_override_accepts_it(
    tmp_path: Path, dbs
) -> None:
    work, layout = dbs
    landing = tmp_path / "landing"
    rows = [_row(n) for n in range(30)] + [_row(n, name="") for n in range(30, 40)]  # 25 %
    path = _land(landing, "police_hukou_20261001.csv", rows)
    (outcome,) = ingest_dataset(work, layout.database, HUKOU, landing, "run1")
    assert outcome.status == "rejected" and outcome.reason_code == "quarantine_share"
    assert "10 of 40 rows quarantined" in (outcome.reason or "")
    recorded = _checks(layout.database, path.name)  # the live database: the run is discarded
    assert recorded["quarantine_share"] == (False, False) and recorded["intake"] == (True, False)
    with duckdb.connect(str(work)) as conn:
        assert conn.execute('SELECT count(*) FROM raw."police_hukou"').fetchone() == (0,)

    with pytest.raises(ValueError, match="cannot be overridden"):
        accept_batch(layout, path.name, "intake", "李工", "looks fine")
    with pytest.raises(ValueError, match="did not fail"):
        accept_batch(layout, path.name, "id_number_valid", "李工", "looks fine")
    with pytest.raises(ValueError, match="no rejected batch"):
        accept_batch(layout, "police_hukou_20990101.csv", "quarantine_share", "李工", "x")
    shutil.copy(layout.database, work)  # a new run works on a copy of the live database
    unchanged = ingest_dataset(work, layout.database, HUKOU, landing, "run2")
    assert "unchanged since it was rejected" in (unchanged[0].reason or "")

    accept_batch(layout, path.name, "quarantine_share", "李工", "names follow next week")
    shutil.copy(layout.database, work)  # the next run's working copy: overrides included
    (accepted,) = ingest_dataset(work, layout.database, HUKOU, landing, "run3")
    assert accepted.status == "applied" and accepted.rows_quarantined == 10
    overridden = {c.check_name: c for c in accepted.checks if c.overridden}
    assert set(overridden) == {"quarantine_share"} and not overridden["quarantine_share"].passed
    assert "李工" in (overridden["quarantine_share"].detail or "")
    assert _checks(work, path.name)["quarantine_share"] == (False, True)


def test_a_changed_file_needs_a_new_override(tmp_path: Path, dbs) -> None:
    work, layout = dbs
    landing = tmp_path / "landing"
    bad = [_row(n, id_number=_id(n)[:17] + ("0" if _id(n)[17] != "0" else "1")) for n in range(20)]
    path = _land(landing, "police_hukou_20261001.csv", [_row(n) for n in range(20, 40)] + bad)
    (outcome,) = ingest_dataset(work, layout.database, HUKOU, landing, "run1")
    assert outcome.reason_code == "id_number_valid"
    assert "20 of 40 unexpected" in (outcome.reason or "")
    accept_batch(layout, path.name, "id_number_valid", "李工", "department confirmed")
    _land(landing, path.name, [_row(n) for n in range(20, 40)] + bad[:-1])  # a different file
    shutil.copy(layout.database, work)
    (again,) = ingest_dataset(work, layout.database, HUKOU, landing, "run2")
    assert again.status == "rejected" and again.reason_code == "id_number_valid"


def test_small_batches_are_not_judged_by_shares(tmp_path: Path, dbs) -> None:
    work, layout = dbs
    landing = tmp_path / "landing"
    _land(landing, "police_hukou_20261001.csv", [_row(1), _row(2, name=""), _row(3, id_number="1")])
    (outcome,) = ingest_dataset(work, layout.database, HUKOU, landing, "run1")
    assert outcome.status == "applied" and outcome.rows_quarantined == 1
    by_name = {c.check_name: c for c in outcome.checks}
    assert not by_name["id_number_valid"].passed and not by_name["id_number_valid"].blocking
    assert "too few" in (by_name["quarantine_share"].detail or "")
