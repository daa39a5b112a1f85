"""The ``siheyuan`` command's contract: exit codes, the one-line reason, status output."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from siheyuan.cli import main
from siheyuan.contracts import load_contracts


def _bad_hukou(landing: Path) -> Path:
    path = landing / "police" / "police_hukou_20261001.csv"
    path.parent.mkdir(parents=True)
    header = ",".join(load_contracts()["police_hukou"].column_names)
    path.write_bytes(
        (header + "\nP1,,张伟,,1,01,19850302,H1,02,学院路77号,正常,\n").encode("gb18030")
    )
    return path


def _after_a_rejected_run(tmp_path: Path) -> tuple[CliRunner, str, Path]:
    """A warehouse whose one run rejected a hukou file: the runner, the warehouse, the file."""
    bad = _bad_hukou(tmp_path / "landing")
    runner = CliRunner()
    wh = str(tmp_path / "wh")
    runner.invoke(main, ["run", "--landing", str(tmp_path / "landing"), "--warehouse", wh])
    return runner, wh, bad


def test_run_with_a_rejected_batch_exits_non_zero_naming_the_file(tmp_path: Path) -> None:
    bad = _bad_hukou(tmp_path / "landing")
    result = CliRunner().invoke(
        main, ["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh")]
    )
    assert result.exit_code == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert bad.name in error_lines[0] and "utf-8" in error_lines[0]
    assert not (tmp_path / "wh" / "published" / "CURRENT").exists()


def test_run_with_nothing_new_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    result = CliRunner().invoke(
        main, ["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh")]
    )
    assert result.exit_code == 0, result.output
    assert "nothing new" in result.stdout


def test_environment_variables_stand_in_for_the_flags(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("SIHEYUAN_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("SIHEYUAN_WAREHOUSE", str(tmp_path / "wh"))
    assert CliRunner().invoke(main, ["run"]).exit_code == 0
    assert (tmp_path / "wh").is_dir()


def test_status_json_lists_rejected_batches(tmp_path: Path) -> None:
    runner, wh, _ = _after_a_rejected_run(tmp_path)
    result = runner.invoke(main, ["status", "--warehouse", wh, "--json"])
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["current_version"] is None
    assert [(b["file_name"], b["status"], b["resolution"]) for b in info["batches"]] == [
        ("police_hukou_20261001.csv", "rejected", None)
    ]
    assert (info["open_rejections"], info["resolved_rejections"]) == (1, 0)


def test_generate_writes_landing_and_truth_apart(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["generate", "--persons", "50", "--seed", "3", "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    landed = {
        p.relative_to(tmp_path / "s" / "landing").parts[0]
        for p in (tmp_path / "s" / "landing").rglob("*.*")
    }
    assert landed == {"police", "civil_affairs", "health", "hr"}
    assert (tmp_path / "s" / "truth" / "round_1" / "records.csv").exists()
    assert not list((tmp_path / "s" / "landing").rglob("records.csv"))


def test_a_missing_landing_folder_is_an_error_not_nothing_new(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["run", "--landing", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "wh")]
    )
    assert result.exit_code == 1
    assert "does not exist" in result.stderr


def test_a_second_run_on_a_busy_warehouse_says_so_in_one_line(tmp_path: Path) -> None:
    from siheyuan.runlock import RunLock

    (tmp_path / "landing").mkdir()
    with RunLock(tmp_path / "wh" / ".run.lock"):
        result = CliRunner().invoke(
            main,
            ["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh")],
        )
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: another run is using the warehouse {tmp_path / 'wh'} (lock .run.lock)"
    ]


def test_report_json_quarantine_json_and_the_page_after_a_rejection(tmp_path: Path) -> None:
    runner, wh, bad = _after_a_rejected_run(tmp_path)
    result = runner.invoke(main, ["report", "--warehouse", wh, "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    # batches: every file with an outcome; held: good files a rejected run did not apply;
    # the auditors' tools read these two first (publishes, links, changes, findings follow)
    assert list(info) == ["batches", "held", "publishes", "links", "changes", "findings"]
    assert info["held"] == [] and info["publishes"] == []
    (batch,) = info["batches"]
    assert (batch["file"], batch["dataset"], batch["status"]) == (
        bad.name,
        "police_hukou",
        "rejected",
    )
    assert bad.name in batch["reason"]
    for key in ("rows_received", "rows_accepted", "rows_quarantined", "rows_duplicate"):
        assert key in batch
    result = runner.invoke(main, ["quarantine", "--warehouse", wh, "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    result = runner.invoke(main, ["report", "--warehouse", wh])
    assert result.exit_code == 0, result.output
    page = Path(result.stdout.strip())
    assert page.parent == tmp_path / "wh" / "reports" and page.exists()
    assert bad.name in page.read_text(encoding="utf-8")


def test_accept_of_a_file_never_rejected_is_refused(tmp_path: Path) -> None:
    runner, wh, _ = _after_a_rejected_run(tmp_path)
    result = runner.invoke(
        main,
        [
            *("accept", "--warehouse", wh, "--file", "hr_insured_20261001.csv"),
            *("--check", "row_count_change", "--by", "王芳", "--reason", "checked"),
        ],
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: hr_insured_20261001.csv")


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_report_json_of_an_unknown_run_fails_like_the_page(tmp_path: Path) -> None:
    runner, wh, _ = _after_a_rejected_run(tmp_path)
    page = runner.invoke(main, ["report", "--warehouse", wh, "--run", "nope"])
    as_json = runner.invoke(main, ["report", "--warehouse", wh, "--run", "nope", "--json"])
    assert as_json.exit_code == page.exit_code == 1
    assert as_json.stdout == ""
    assert _error_lines(as_json.stderr) == _error_lines(page.stderr)
    assert len(_error_lines(as_json.stderr)) == 1
    assert "no run 'nope'" in as_json.stderr
    # a run that is known still lists its files
    (run_id,) = {
        b["run_id"]
        for b in json.loads(runner.invoke(main, ["report", "--warehouse", wh, "--json"]).stdout)[
            "batches"
        ]
    }
    known = runner.invoke(main, ["report", "--warehouse", wh, "--run", run_id, "--json"])
    assert known.exit_code == 0, known.output
    assert [b["status"] for b in json.loads(known.stdout)["batches"]] == ["rejected"]


def test_reading_commands_on_a_missing_warehouse_fail_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-warehouse"
    runner = CliRunner()
    for command in (
        ["status"],
        ["status", "--json"],
        ["quarantine"],
        ["quarantine", "--json"],
        ["report"],
        ["report", "--json"],
    ):
        result = runner.invoke(main, [*command, "--warehouse", str(missing)])
        assert result.exit_code == 1, command
        assert result.stdout == "", command
        assert _error_lines(result.stderr) == [f"error: no warehouse at {missing}"], command
    assert not missing.exists()


def test_quarantine_of_an_unknown_dataset_names_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "wh").mkdir()
    result = CliRunner().invoke(
        main, ["quarantine", "--warehouse", str(tmp_path / "wh"), "--dataset", "police_hukuo"]
    )
    assert result.exit_code == 1
    (line,) = _error_lines(result.stderr)
    assert "'police_hukuo'" in line
    for dataset in load_contracts():
        assert dataset in line
    known = CliRunner().invoke(
        main, ["quarantine", "--warehouse", str(tmp_path / "wh"), "--dataset", "police_hukou"]
    )
    assert known.exit_code == 0, known.output
    assert "no quarantined rows matching the filter" in known.stdout


def test_report_help_names_both_lists_of_the_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert '"batches"' in result.stdout and '"held"' in result.stdout


def test_the_console_masks_a_file_named_after_a_person(tmp_path: Path) -> None:
    landing = tmp_path / "landing" / "health"
    landing.mkdir(parents=True)
    (landing / "330106198001011234_王五_高血压_13812345678.jsonl").write_text("{}\n", "utf-8")
    result = CliRunner().invoke(
        main, ["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh")]
    )
    assert result.exit_code == 0, result.output
    assert "ignored" in result.stderr and "330106********1234" in result.stderr
    for secret in ("330106198001011234", "13812345678", "高血压"):
        assert secret not in result.stderr + result.stdout


def test_a_broken_contract_is_one_line_naming_the_file_not_a_traceback(
    tmp_path: Path, monkeypatch, request
) -> None:
    import siheyuan.contracts as contracts

    broken = tmp_path / "sources" / "police" / "police_test.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("dataset: police_test\ncolums: []\n", "utf-8")  # a typo'd key
    monkeypatch.setattr(contracts, "contracts_dir", lambda: tmp_path / "sources")
    contracts.load_contracts.cache_clear()  # contracts are read once per process
    request.addfinalizer(contracts.load_contracts.cache_clear)
    (tmp_path / "wh").mkdir()
    result = CliRunner().invoke(
        main, ["quarantine", "--warehouse", str(tmp_path / "wh"), "--dataset", "police_test"]
    )
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: invalid source contract") and str(broken) in line
