"""An override is recorded once per content and check, and only while the rejection is open;
``status`` tells open rejections from those a later run resolved.

Runs go through ``ingest_dataset`` on a working copy; "publishing" copies it over the live
database, as a complete run's swap does (no dbt here: the registry is what is under test).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from siheyuan.cli import main
from siheyuan.contracts import load_contracts
from siheyuan.ingest import ingest_dataset
from siheyuan.quality.overrides import accept_batch
from siheyuan.settings import WarehouseLayout
from siheyuan.standardise.id_number import check_char
from siheyuan.status import warehouse_status
from siheyuan.warehouse import initialise

HUKOU = load_contracts()["police_hukou"]
OCT = "police_hukou_20261001.csv"
NOV = "police_hukou_20261101.csv"


def _person(n: int, name: str) -> str:
    body = f"33010619900101{n % 1000:03d}"
    return f"K{n},{body + check_char(body)},{name},,2,01,19900101,H9,02,文三路8号,正常,"


def _land(landing: Path, file_name: str, named: int, nameless: int = 0) -> Path:
    """A hukou snapshot of ``named`` good rows and ``nameless`` rows the gate quarantines."""
    rows = [_person(n, "李娜") for n in range(named)]
    rows += [_person(n, "") for n in range(named, named + nameless)]
    path = landing / "police" / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([",".join(HUKOU.column_names), *rows]) + "\n", encoding="utf-8")
    return path


class Hub:
    """A live database and the run that works on a copy of it."""

    def __init__(self, root: Path) -> None:
        self.layout = WarehouseLayout(root / "wh")
        self.landing = root / "landing"
        self.work = root / "work.duckdb"
        initialise(self.layout.database, {HUKOU.dataset: HUKOU})
        self.runs = 0

    def run(self) -> str:
        """One run: ingest on a copy; publish it (swap it in) unless a file was rejected."""
        self.runs += 1
        shutil.copy(self.layout.database, self.work)
        outcomes = ingest_dataset(
            self.work, self.layout.database, HUKOU, self.landing, f"run{self.runs}"
        )
        if all(o.status != "rejected" for o in outcomes):
            shutil.copy(self.work, self.layout.database)
        return outcomes[-1].status

    def overrides(self) -> int:
        with duckdb.connect(str(self.layout.database), read_only=True) as conn:
            return conn.execute("SELECT count(*) FROM meta.override").fetchone()[0]

    def status(self) -> dict[str, dict]:
        """The latest status entry of each file, by name."""
        return {b["file_name"]: b for b in warehouse_status(self.layout)["batches"]}


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    """October's snapshot rejected: 10 of 40 rows would be quarantined (25 %)."""
    hub = Hub(tmp_path)
    _land(hub.landing, OCT, 30, 10)
    assert hub.run() == "rejected"
    return hub


def test_accepting_the_same_content_and_check_twice_is_refused(hub: Hub) -> None:
    accept_batch(hub.layout, OCT, "quarantine_share", "李工", "names follow next week")
    with pytest.raises(
        ValueError, match=r"already accepted for quarantine_share by 李工 .* the next"
    ):
        accept_batch(hub.layout, OCT, "quarantine_share", "王工", "me too")
    assert hub.overrides() == 1


def test_accepting_content_applied_since_is_refused_in_one_line(hub: Hub) -> None:
    accept_batch(hub.layout, OCT, "quarantine_share", "李工", "names follow next week")
    assert hub.run() == "applied"
    result = CliRunner().invoke(
        main,
        [
            *("accept", "--warehouse", str(hub.layout.root), "--landing", str(hub.landing)),
            *("--file", OCT, "--check", "quarantine_share", "--by", "王工", "--reason", "again"),
        ],
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {OCT}: nothing to accept: the same content")
    assert "was applied at" in result.stderr
    assert hub.overrides() == 1
    entry = hub.status()[OCT]
    assert entry["status"] == "applied"  # the latest outcome of that name


def test_a_corrected_file_resolves_the_rejection(hub: Hub) -> None:
    _land(hub.landing, OCT, 40)  # the department fixed the names: new content, same name
    assert hub.run() == "applied"
    with pytest.raises(ValueError, match=f"nothing to accept: a corrected {OCT}"):
        accept_batch(hub.layout, OCT, "quarantine_share", "李工", "too late")
    assert hub.overrides() == 0
    info = warehouse_status(hub.layout)
    (rejected,) = [b for b in info["batches"] if b["status"] == "rejected"]
    assert rejected["resolution"]["how"] == "corrected"
    assert (info["open_rejections"], info["resolved_rejections"]) == (0, 1)


def test_a_later_snapshot_resolves_an_older_rejected_one(hub: Hub) -> None:
    (hub.landing / "police" / OCT).unlink()
    _land(hub.landing, NOV, 40)
    assert hub.run() == "applied"
    with pytest.raises(ValueError, match=f"nothing to accept: a later snapshot, {NOV}"):
        accept_batch(hub.layout, OCT, "quarantine_share", "李工", "too late")
    assert hub.status()[OCT]["resolution"]["how"] == "superseded"


def test_status_lists_only_open_rejections_and_counts_the_resolved(hub: Hub) -> None:
    runner = CliRunner()
    wh = str(hub.layout.root)
    before = runner.invoke(main, ["status", "--warehouse", wh])
    assert before.exit_code == 0, before.output
    assert "rejected police_hukou_20261001.csv" in before.stdout
    assert "resolved" not in before.stdout
    _land(hub.landing, OCT, 40)
    assert hub.run() == "applied"
    _land(hub.landing, NOV, 20, 10)  # a new problem: 10 of 30 nameless
    assert hub.run() == "rejected"
    after = runner.invoke(main, ["status", "--warehouse", wh])
    assert after.exit_code == 0, after.output
    assert "rejected police_hukou_20261001.csv" not in after.stdout
    assert "rejected police_hukou_20261101.csv" in after.stdout
    assert "rejected, resolved" in after.stdout
    assert "1 earlier rejection(s) resolved since" in after.stdout
    info = json.loads(runner.invoke(main, ["status", "--warehouse", wh, "--json"]).stdout)
    assert (info["open_rejections"], info["resolved_rejections"]) == (1, 1)
    assert [(b["file_name"], b["status"], bool(b["resolution"])) for b in info["batches"]] == [
        (OCT, "rejected", True),
        (OCT, "applied", False),
        (NOV, "rejected", False),
    ]
