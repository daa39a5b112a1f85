"""The Splink backend factory: DuckDB by default, Spark only when configured and importable."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
import siheyuan.linking.backend as backend
from siheyuan.linking.backend import BackendSettings, open_backend
from siheyuan.linking.config import SETTINGS_PATH, linking_settings, load_settings
from siheyuan.settings import ConfigurationError


def test_the_shipped_settings_run_splink_on_duckdb():
    assert linking_settings().backend.engine == "duckdb"
    with open_backend() as db:
        from splink import DuckDBAPI

        assert db.engine == "duckdb"
        assert isinstance(db.api, DuckDBAPI)
        assert db.session.execute("select current_setting('threads')").fetchone()[0] >= 1


def test_threads_are_set_on_the_private_connection():
    with open_backend(BackendSettings(duckdb_threads=3), threads=1) as db:
        assert db.session.execute("select current_setting('threads')").fetchone()[0] == 1
    with open_backend(BackendSettings(duckdb_threads=3)) as db:
        assert db.session.execute("select current_setting('threads')").fetchone()[0] == 3


def test_duckdb_hands_arrow_to_splink_as_it_is():
    table = pa.table({"link_id": [1, 2]})
    with open_backend(BackendSettings()) as db:
        assert db.input_table(table) is table


def test_spark_without_pyspark_stops_with_one_clear_line(monkeypatch):
    monkeypatch.setattr(backend, "pyspark_available", lambda: False)
    settings = BackendSettings(engine="spark")
    with (
        pytest.raises(ConfigurationError, match="pyspark is not importable"),
        open_backend(settings),
    ):
        pass


def test_an_unknown_engine_is_a_configuration_error(tmp_path: Path):
    text = SETTINGS_PATH.read_text(encoding="utf-8").replace("engine: duckdb", "engine: oracle")
    broken = tmp_path / "linking.yml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"linking\.yml"):
        load_settings(broken)
