"""The gate on small batches through ``ingest_dataset``: thresholds, records, overrides."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from siheyuan.contracts import load_contracts
from siheyuan.ingest import ingest_dataset
from siheyuan.quality.config import load_settings
from siheyuan.quality.overrides import accept_batch
from siheyuan.report import quarantine_json
from siheyuan.settings import WarehouseLayout
from siheyuan.standardise.id_number import check_char
from siheyuan.warehouse import initialise

CONTRACTS = load_contracts()
HUKOU = CONTRACTS["police_hukou"]
HEADER = ",".join(HUKOU.column_names)


def _id(n: int) -> str:
    body = f"33010619850302{n % 1000:03d}"
    return body + check_char(body)


def _bad_check_digit(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


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
    bad = [_row(n, id_number=_bad_check_digit(_id(n))) for n in range(20)]
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


def _listing(layout: WarehouseLayout, file_name: str) -> list[tuple[int, str, str, str]]:
    return [
        (r["row_number"], r["reason_code"], r["batch_status"], r["run_id"])
        for r in quarantine_json(layout, file_name=file_name)
    ]


def test_the_rows_a_rejected_batch_would_quarantine_are_listed_once_until_it_is_applied(
    tmp_path: Path, dbs
) -> None:
    """An auditor sees which rows failed a batch without accepting it blind (UAT item 1)."""
    work, layout = dbs
    landing = tmp_path / "landing"
    share = load_settings("police_hukou").batch.max_quarantine_share
    good = 22
    bad_ids = 4  # bad check digits: also fails id_number_valid (at least 90 % valid)
    rows = [_row(n) for n in range(good)]
    rows[:bad_ids] = [_row(n, id_number=_bad_check_digit(_id(n))) for n in range(bad_ids)]
    rows += [_row(good, name=""), "," + _row(good + 1).split(",", 1)[1]]  # no name, no key
    assert 2 / len(rows) > share  # more unusable rows than the YAML lets through
    path = _land(landing, "police_hukou_20261001.csv", rows)
    unusable = [(len(rows), "missing_required"), (len(rows) + 1, "missing_source_key")]

    (first,) = ingest_dataset(work, layout.database, HUKOU, landing, "run1")
    assert (first.status, first.reason_code) == ("rejected", "quarantine_share")
    assert first.rows_quarantined == 0  # nothing of a rejected batch is in the quarantine
    assert _listing(layout, path.name) == [(n, c, "rejected", "run1") for n, c in unusable]

    shutil.copy(layout.database, work)  # refused again unchanged: not re-read, nothing added
    ingest_dataset(work, layout.database, HUKOU, landing, "run2")
    assert _listing(layout, path.name) == [(n, c, "rejected", "run1") for n, c in unusable]

    # accepted for the share, re-checked, rejected again for its ID numbers: one set of rows
    accept_batch(layout, path.name, "quarantine_share", "李工", "two rows follow next week")
    shutil.copy(layout.database, work)
    (again,) = ingest_dataset(work, layout.database, HUKOU, landing, "run3")
    assert (again.status, again.reason_code) == ("rejected", "id_number_valid")
    assert _listing(layout, path.name) == [(n, c, "rejected", "run3") for n, c in unusable]

    accept_batch(layout, path.name, "id_number_valid", "李工", "department confirmed")
    shutil.copy(layout.database, work)
    (applied,) = ingest_dataset(work, layout.database, HUKOU, landing, "run4")
    assert applied.status == "applied" and applied.rows_quarantined == len(unusable)
    shutil.copy(work, layout.database)  # the run publishes: its working copy becomes live
    assert _listing(layout, path.name) == [(n, c, "applied", "run4") for n, c in unusable]
    with duckdb.connect(str(layout.database)) as conn:  # what dbt and the ledger join on
        assert conn.execute(
            "SELECT count(*) FROM meta.quarantine WHERE batch_id = ?", [applied.batch_id]
        ).fetchone() == (len(unusable),)


def test_a_batch_refused_before_its_rows_are_read_lists_no_rows(tmp_path: Path, dbs) -> None:
    work, layout = dbs
    landing = tmp_path / "landing"
    path = landing / "police" / "police_hukou_20261001.csv"
    path.parent.mkdir(parents=True)
    path.write_text("人员编号\nP1\n,\n", encoding="utf-8")  # a declared column missing
    (outcome,) = ingest_dataset(work, layout.database, HUKOU, landing, "run1")
    assert outcome.status == "rejected" and outcome.rows_received is None
    assert quarantine_json(layout, file_name=path.name) == []


def test_the_quarantine_command_shows_a_rejected_files_rows_as_such(tmp_path: Path, dbs) -> None:
    from click.testing import CliRunner
    from siheyuan.cli import main

    work, layout = dbs
    landing = tmp_path / "landing"
    rows = [_row(n) for n in range(1, 21)]
    rows[4] = _row(5, name="")  # 2 of 20 (10 %) without a name: beyond the 5 % share
    rows[9] = _row(10, name="")
    bad = _land(landing, "police_hukou_20261001.csv", rows)
    (out,) = ingest_dataset(work, layout.database, HUKOU, landing, "run1")
    assert out.status == "rejected"
    result = CliRunner().invoke(main, ["quarantine", "--warehouse", str(layout.root)])
    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if bad.name in line]
    assert len(table) == 2 and all("rejected" in line for line in table)
    assert "these rows would be quarantined if it were accepted" in result.stdout
