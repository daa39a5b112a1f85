"""One factory for the database Splink runs on: DuckDB on one machine, Spark for a city.

Prediction (``siheyuan.linking.predict``) and training (``siheyuan.linking.train``) never build a
Splink database API themselves; they ask :func:`open_backend`, which reads ``backend`` in
``linking.yml``. DuckDB is the default: a private in-memory connection fed Arrow, so Splink's
working tables never land in the warehouse file (which belongs to dbt: DuckDB allows one writer).
Spark is chosen in ``linking.yml`` and needs pyspark importable; pyspark is not a dependency of
this project, so choosing Spark without it stops the run with one line saying so
(``ConfigurationError``), never with an ImportError deep inside Splink.

The backend also knows how to hand it a table (Arrow for DuckDB, a Spark DataFrame for Spark)
and how to bring a Splink result back as Arrow, so the code around Splink is the same on both.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from siheyuan.settings import ConfigurationError


class SparkSettings(BaseModel):
    """How to reach Spark (``linking.yml`` → ``backend.spark``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: ``local[*]``, ``spark://host:7077``, ``yarn``, … (None: whatever the session builder has)
    master: str | None = None
    app_name: str = "siheyuan-linking"
    #: Splink repartitions the blocked pairs into this many partitions (None: Splink's default)
    num_partitions_on_repartition: int | None = Field(default=None, ge=1)
    #: extra Spark configuration, e.g. ``spark.executor.memory: 8g``
    conf: dict[str, str] = Field(default_factory=dict)


class BackendSettings(BaseModel):
    """Which database Splink runs on (``linking.yml`` → ``backend``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: Literal["duckdb", "spark"] = "duckdb"
    #: DuckDB threads for prediction (None: DuckDB's default, every core)
    duckdb_threads: int | None = Field(default=None, ge=1)
    spark: SparkSettings = Field(default_factory=SparkSettings)


@dataclass
class Backend:
    """A Splink database API plus the two conversions the code around Splink needs."""

    engine: str
    api: Any  # splink.DuckDBAPI | splink.SparkAPI
    session: Any = None  # the DuckDB connection or the SparkSession

    def input_table(self, table: pa.Table) -> Any:
        """``table`` as the API's ``register`` accepts it."""
        if self.engine == "spark":
            return self.session.createDataFrame(table.to_pandas())
        return table

    def to_arrow(self, frame: Any) -> pa.Table:
        """A SplinkDataFrame (a predict result) as Arrow."""
        if self.engine == "spark":
            return pa.Table.from_pandas(frame.as_spark_dataframe().toPandas(), preserve_index=False)
        return frame.as_duckdbpyrelation().to_arrow_table()


def pyspark_available() -> bool:
    return importlib.util.find_spec("pyspark") is not None


@contextmanager
def open_backend(
    settings: BackendSettings | None = None, threads: int | None = None
) -> Iterator[Backend]:
    """The configured backend, closed on exit (a DuckDB connection; a Spark session is kept).

    ``threads`` overrides ``duckdb_threads`` (training runs on one thread, so a re-train on the
    same data is byte-identical); Spark ignores it.
    """
    if settings is None:
        from siheyuan.linking.config import linking_settings

        settings = linking_settings().backend
    if settings.engine == "spark":
        yield _spark_backend(settings.spark)
        return
    import duckdb
    from splink import DuckDBAPI

    conn = duckdb.connect()
    try:
        n = threads or settings.duckdb_threads
        if n:
            conn.execute(f"SET threads = {int(n)}")
        yield Backend("duckdb", DuckDBAPI(connection=conn), conn)
    finally:
        conn.close()


def _spark_backend(spark: SparkSettings) -> Backend:
    if not pyspark_available():
        raise ConfigurationError(
            "linking.yml: backend.engine is spark but pyspark is not importable in this "
            "environment; install pyspark where the job runs, or set backend.engine: duckdb"
        )
    from pyspark.sql import SparkSession
    from splink import SparkAPI

    builder = SparkSession.builder.appName(spark.app_name)
    if spark.master:
        builder = builder.master(spark.master)
    for key, value in spark.conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    api = SparkAPI(
        spark_session=session, num_partitions_on_repartition=spark.num_partitions_on_repartition
    )
    return Backend("spark", api, session)
