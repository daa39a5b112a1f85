"""evaluate compares the warehouse with a round of the truth it has applied, and says which."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from siheyuan.cli import main
from siheyuan.contracts import load_contracts
from siheyuan.evaluate_round import RoundNotApplied, choose_round, truth_rounds
from siheyuan.generate import generate_sample
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import ensure_meta, initialise

PERSONS, SEED = 60, 5


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rounds 1 and 2 of a small district: landing files and truth/round_1, truth/round_2."""
    out = tmp_path_factory.mktemp("sample")
    for round_no in (1, 2):
        generate_sample(persons=PERSONS, seed=SEED, out=out, round_no=round_no)
    return out


def _record(conn: duckdb.DuckDBPyConnection, files, status: str = "applied") -> None:
    """Registry rows for landing file names, as a run records them (only what is read here)."""
    for name in files:
        conn.execute(
            "INSERT INTO meta.batch (batch_id, dataset, department, file_name, file_sha256, "
            "extract_date, seq, kind, status, run_id, recorded_at) "
            "VALUES (?, 'x', 'x', ?, 'sha', DATE '2026-10-01', 0, 'snapshot', ?, 'r', ?)",
            [name, name, status, datetime(2026, 11, 1)],
        )


@pytest.fixture
def registry() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    ensure_meta(conn)
    return conn


def test_the_truth_names_each_rounds_landing_files(sample: Path) -> None:
    one, two = truth_rounds(sample / "truth")
    assert (one.number, two.number) == (1, 2)
    landed = {p.name for p in (sample / "landing").rglob("*.*")}
    assert set(one.files) | set(two.files) == landed
    assert not set(one.files) & set(two.files)
    assert all("20261001" in f for f in one.files) and all("20261101" in f for f in two.files)


def test_without_a_round_the_latest_fully_applied_one_is_chosen(sample: Path, registry) -> None:
    truth = sample / "truth"
    one, two = truth_rounds(truth)
    with pytest.raises(RoundNotApplied, match=r"no round of .* was applied"):
        choose_round(truth, registry)
    _record(registry, one.files)
    choice = choose_round(truth, registry)
    assert (choice.round.number, choice.chosen, choice.notes) == (1, "latest applied", [])
    _record(registry, two.files[:1])  # one file of round 2 (the rest rejected or not landed)
    choice = choose_round(truth, registry)
    assert choice.round.number == 1
    assert choice.notes and "round 2 is partly applied (1 of" in choice.notes[0]
    _record(registry, two.files[1:-1])
    _record(registry, two.files[-1:], status="duplicate")  # its content was applied
    choice = choose_round(truth, registry)
    assert (choice.round.number, choice.round.folder, choice.notes) == (2, truth / "round_2", [])


def test_a_round_asked_for_must_have_been_applied(sample: Path, registry) -> None:
    truth = sample / "truth"
    one, two = truth_rounds(truth)
    _record(registry, one.files)
    with pytest.raises(RoundNotApplied, match="round 2 was not applied") as exc:
        choose_round(truth, registry, 2)
    assert two.files[0] in str(exc.value)
    with pytest.raises(RoundNotApplied, match="round 2 was not applied"):
        choose_round(truth / "round_2", registry)  # a round folder given directly
    with pytest.raises(RoundNotApplied, match=r"no round 3 .* \(rounds there: 1, 2\)"):
        choose_round(truth, registry, 3)
    assert choose_round(truth / "round_1", registry).chosen == "requested"
    _record(registry, two.files)
    choice = choose_round(truth, registry, 1)
    assert (choice.round.number, choice.chosen) == (1, "requested")
    assert choice.notes == [
        "round 2 was applied too: the warehouse holds a later state than round 1's truth"
    ]


def test_evaluate_of_a_round_not_applied_is_one_error_line(sample: Path, tmp_path: Path) -> None:
    layout = WarehouseLayout(tmp_path / "wh")
    initialise(layout.database, load_contracts())
    with duckdb.connect(str(layout.database)) as conn:
        _record(conn, truth_rounds(sample / "truth")[0].files)
    result = CliRunner().invoke(
        main,
        [
            *("evaluate", "--truth", str(sample / "truth"), "--round", "2"),
            *("--warehouse", str(layout.root)),
        ],
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: round 2 was not applied to this warehouse: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.slow
def test_a_generated_but_unapplied_round_does_not_spoil_the_evaluation(tmp_path: Path) -> None:
    """The acceptance case: round 2 generated after round 1 was run, and not run yet."""
    out, wh = tmp_path / "s", tmp_path / "wh"
    generate_sample(persons=PERSONS, seed=SEED, out=out, round_no=1)
    runner = CliRunner()
    run = runner.invoke(main, ["run", "--landing", str(out / "landing"), "--warehouse", str(wh)])
    assert run.exit_code == 0, run.output
    generate_sample(persons=PERSONS, seed=SEED, out=out, round_no=2)
    args = ["evaluate", "--truth", str(out / "truth"), "--warehouse", str(wh)]
    text = runner.invoke(main, args)
    assert "round: 1 (latest applied)" in text.stdout.splitlines()[:3]
    as_json = runner.invoke(main, [*args, "--json"])
    result = json.loads(as_json.stdout)
    assert (result["round"], result["round_chosen"]) == (1, "latest applied")
    assert result["truth"] == str(out / "truth" / "round_1")
    # compared with round 1, not the unapplied round 2: every record is found and standardised
    # as the truth says (a wrong round would miss records and mismatch IDs and buildings)
    ids, buildings = result["id_numbers"], result["buildings"]
    assert ids["records_not_in_warehouse"] == 0 and ids["meets_targets"]
    assert buildings["missing"] == 0 and buildings["meets_targets"]
    assert result["linking"]["persons"]["records_not_in_xref"] == 0
    # the exit code follows the targets, linking ones included (not all met by ID-only linking)
    expected_exit = 0 if result["meets_targets"] else 1
    assert (text.exit_code, as_json.exit_code) == (expected_exit, expected_exit), text.output
    assert f"meets targets: {'yes' if result['meets_targets'] else 'NO'}" in text.stdout
    unapplied = runner.invoke(main, [*args, "--round", "2"])
    assert unapplied.exit_code == 1
    assert unapplied.stderr.startswith("error: round 2 was not applied to this warehouse: ")
