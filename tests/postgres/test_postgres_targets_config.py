"""The PostgreSQL target from configuration (``targets.yml``): the URL's environment variable,
the publish after every ``siheyuan run`` (off by default), its failure (exit 3, one masked line,
the warehouse's version still current) and the retry with ``siheyuan publish``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from postgres.conftest import Server
from siheyuan import runner as runner_module
from siheyuan.cli import main
from siheyuan.publish import read_current
from siheyuan.runner import RunReport
from siheyuan.settings import ConfigurationError, WarehouseLayout
from siheyuan.targets import (
    DEFAULT_URL_ENV,
    POSTGRES_FAILED_EXIT,
    TARGETS_ENV,
    TARGETS_PATH,
    load_targets,
)

URL_ENV = "SIHEYUAN_TEST_TARGET_URL"
SECRET = "Targets-Secret-pw9"


def _targets(tmp_path: Path, publish_on_run: bool, url_env: str = URL_ENV) -> Path:
    path = tmp_path / "targets.yml"
    path.write_text(
        f"postgres:\n  url_env: {url_env}\n  publish_on_run: {str(publish_on_run).lower()}\n",
        encoding="utf-8",
    )
    return path


def _published_versions(server: Server, database: str) -> list[str]:
    with server.connect(database) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = 'siheyuan_audit'"
        ).fetchone()
        if not exists:
            return []
        rows = conn.execute("SELECT version FROM siheyuan_audit.publish_log ORDER BY id")
        return [r[0] for r in rows.fetchall()]


@pytest.fixture
def fake_runs(monkeypatch: pytest.MonkeyPatch, make_version) -> Callable[..., list[Path]]:
    """``siheyuan run`` without the pipeline: each run publishes the next Parquet version (the
    conftest's small versions) or, where the plan says None, finds nothing new. Returns the
    landing folders the runs were asked for, so a test can tell whether a run happened."""
    calls: list[Path] = []

    def install(plan: list[int | None]) -> list[Path]:
        steps = iter(plan)

        def run_job(landing: Path, warehouse: Path, console_level: str = "CRITICAL"):
            calls.append(landing)
            number = next(steps)
            layout = WarehouseLayout(warehouse)
            if number is None:
                return RunReport("nothing_new", version=read_current(layout))
            make_version(number)
            return RunReport("published", run_id=f"run-{number}", version=read_current(layout))

        monkeypatch.setattr(runner_module, "run_job", run_job)
        return calls

    return install


def _run(warehouse: Path, tmp_path: Path):
    return CliRunner().invoke(
        main, ["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(warehouse)]
    )


# --- the file --------------------------------------------------------------------------------


def test_postgres_targets_default_is_off_and_names_the_usual_variable(monkeypatch):
    monkeypatch.delenv(TARGETS_ENV, raising=False)
    targets = load_targets()
    assert targets.path == TARGETS_PATH
    assert targets.postgres.url_env == DEFAULT_URL_ENV
    assert targets.postgres.publish_on_run is False


def test_postgres_targets_env_names_another_file(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(TARGETS_ENV, str(_targets(tmp_path, True)))
    targets = load_targets()
    assert targets.path == (tmp_path / "targets.yml").resolve()
    assert (targets.postgres.url_env, targets.postgres.publish_on_run) == (URL_ENV, True)
    monkeypatch.setenv(TARGETS_ENV, str(tmp_path / "missing.yml"))
    with pytest.raises(ConfigurationError, match=r"missing\.yml"):
        load_targets()


@pytest.mark.parametrize(
    "body",
    [
        f"postgres:\n  url: postgresql://hub:{SECRET}@db/hub\n",
        f"postgres:\n  url_env: postgresql://hub:{SECRET}@db/hub\n",
        f"postgres:\n  password: {SECRET}\n",
        f"postgres:\n  url_env: X\n  publish_on_run: '{SECRET}'\n",
        f"postgres: [postgresql://hub:{SECRET}@db/hub\n",  # broken YAML quoting the URL
    ],
    ids=["url", "url_env_holds_a_url", "password", "flag_not_a_bool", "broken_yaml"],
)
def test_postgres_targets_file_refuses_a_url_and_never_echoes_it(tmp_path: Path, body: str):
    path = tmp_path / "targets.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigurationError) as raised:
        load_targets(path)
    assert str(path) in str(raised.value)
    assert SECRET not in str(raised.value)


def test_postgres_targets_file_refuses_unknown_keys(tmp_path: Path):
    path = tmp_path / "targets.yml"
    path.write_text("postgres:\n  publish_on_runs: true\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="publish_on_runs"):
        load_targets(path)
    path.write_text("kafka: {}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="kafka"):
        load_targets(path)


# --- siheyuan publish without --postgres ------------------------------------------------------


def test_postgres_publish_without_the_flag_reads_the_configured_variable(
    pg_server: Server, pg_database: str, make_version, tmp_path: Path, monkeypatch
):
    warehouse = make_version(1)
    monkeypatch.setenv(TARGETS_ENV, str(_targets(tmp_path, False)))
    monkeypatch.delenv(URL_ENV, raising=False)
    runner = CliRunner()
    missing = runner.invoke(main, ["publish", "--warehouse", str(warehouse)])
    assert missing.exit_code == 2 and URL_ENV in missing.output
    monkeypatch.setenv(URL_ENV, pg_server.url(pg_database, password=SECRET))
    done = runner.invoke(main, ["publish", "--warehouse", str(warehouse)])
    assert done.exit_code == 0, done.output
    assert "v000001 loaded into schema siheyuan_v000001" in done.output
    assert SECRET not in done.output
    assert _published_versions(pg_server, pg_database) == ["v000001"]


# --- siheyuan run: the publish after the run -------------------------------------------------


def test_postgres_run_publishes_each_new_version_when_configured(
    pg_server: Server, pg_database: str, fake_runs, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv(TARGETS_ENV, str(_targets(tmp_path, True)))
    monkeypatch.setenv(URL_ENV, pg_server.url(pg_database, password=SECRET))
    fake_runs([1, None, 2])
    warehouse = tmp_path / "warehouse"
    first = _run(warehouse, tmp_path)
    assert first.exit_code == 0, first.output
    assert "v000001 loaded into schema siheyuan_v000001" in first.output
    assert SECRET not in first.output
    assert _published_versions(pg_server, pg_database) == ["v000001"]
    nothing = _run(warehouse, tmp_path)  # no new version: PostgreSQL is left alone
    assert nothing.exit_code == 0, nothing.output
    assert _published_versions(pg_server, pg_database) == ["v000001"]
    second = _run(warehouse, tmp_path)
    assert second.exit_code == 0, second.output
    assert _published_versions(pg_server, pg_database) == ["v000001", "v000002"]
    with pg_server.connect(pg_database) as conn:
        conn.execute("SET ROLE siheyuan_health")
        row = conn.execute("SELECT version FROM health.published_version").fetchone()
        assert row == ("v000002",)


def test_postgres_run_leaves_postgres_alone_when_the_publish_on_run_is_off(
    pg_server: Server, pg_database: str, fake_runs, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv(TARGETS_ENV, str(_targets(tmp_path, False)))
    monkeypatch.setenv(URL_ENV, pg_server.url(pg_database))
    fake_runs([1])
    result = _run(tmp_path / "warehouse", tmp_path)
    assert result.exit_code == 0, result.output
    assert read_current(WarehouseLayout(tmp_path / "warehouse")) == "v000001"
    assert _published_versions(pg_server, pg_database) == []


def test_postgres_run_without_the_url_stops_before_the_run(fake_runs, tmp_path, monkeypatch):
    monkeypatch.setenv(TARGETS_ENV, str(_targets(tmp_path, True)))
    monkeypatch.delenv(URL_ENV, raising=False)
    calls = fake_runs([1])
    result = _run(tmp_path / "warehouse", tmp_path)
    assert result.exit_code == 2
    assert URL_ENV in result.stderr and "publish_on_run" in result.stderr
    assert calls == []  # nothing applied: the engineer fixes the setting first
    assert read_current(WarehouseLayout(tmp_path / "warehouse")) is None


@pytest.mark.slow
def test_postgres_failed_publish_after_a_real_run_exits_3_and_publish_retries(
    pg_server: Server, pg_database: str, tmp_path: Path, monkeypatch
):
    """The whole job on a small sample: the Parquet version is committed whatever PostgreSQL
    says; the failure is one masked line naming the target; ``siheyuan publish`` catches up."""
    from siheyuan.generate import generate_sample

    generate_sample(persons=30, seed=7, out=tmp_path / "sample", round_no=1)
    monkeypatch.setenv(TARGETS_ENV, str(_targets(tmp_path, True)))
    good = pg_server.url(pg_database, password=SECRET)
    monkeypatch.setenv(URL_ENV, good.replace(f"/{pg_database}?", "/no_such_db?"))
    warehouse = tmp_path / "warehouse"
    runner = CliRunner()
    landing = str(tmp_path / "sample" / "landing")
    failed = runner.invoke(main, ["run", "--landing", landing, "--warehouse", str(warehouse)])
    assert failed.exit_code == POSTGRES_FAILED_EXIT, failed.output
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, failed.stderr
    assert errors[0].startswith("error: PostgreSQL target")
    assert "postgresql+psycopg://" in errors[0] and "no_such_db" in errors[0]
    assert "v000001 stays current" in errors[0]
    assert SECRET not in failed.output and "***" in errors[0]
    assert read_current(WarehouseLayout(warehouse)) == "v000001"
    assert "published v000001" in failed.stdout
    assert _published_versions(pg_server, pg_database) == []

    monkeypatch.setenv(URL_ENV, good)
    retried = runner.invoke(main, ["publish", "--warehouse", str(warehouse)])
    assert retried.exit_code == 0, retried.output
    assert "v000001 loaded into schema siheyuan_v000001" in retried.output
    assert _published_versions(pg_server, pg_database) == ["v000001"]
    with pg_server.connect(pg_database) as conn:
        conn.execute("SET ROLE siheyuan_analytics")
        names = [
            d.name for d in conn.execute("SELECT * FROM analytics.resident LIMIT 0").description
        ]
        assert "resident_id" in names and "name" not in names and "id_number" not in names
        count = conn.execute("SELECT count(*) FROM analytics.resident").fetchone()[0]
        assert count > 0
