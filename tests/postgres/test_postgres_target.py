"""The PostgreSQL target against a real server: roles read their own views only, masked values
stay masked, a reader never sees a mixed version during a switch, the audit log is append-only,
and a re-publish changes nothing."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from postgres.conftest import CONSUMERS, Server
from psycopg.errors import InsufficientPrivilege, RaiseException
from siheyuan.cli_publish import publish
from siheyuan.postgres_target import PostgresTargetError, publish_to_postgres


def _rows(conn: psycopg.Connection, query: str) -> list[tuple]:
    return conn.execute(query).fetchall()


def test_postgres_each_role_reads_its_own_masked_views(pg_server, pg_database, make_version):
    warehouse = make_version(1)
    result = publish_to_postgres(pg_server.url(pg_database), warehouse)
    assert result.loaded and result.switched
    assert result.row_counts["resident"] == 4
    assert result.row_counts["police__resident"] == 4
    folder = warehouse / "published" / "v000001"
    with pg_server.connect(pg_database) as conn:
        for consumer in CONSUMERS:
            conn.execute(f"SET ROLE siheyuan_{consumer}")
            assert _rows(conn, f"SELECT version FROM {consumer}.published_version") == [
                ("v000001",)
            ]
            expected = pq.read_table(folder / "views" / consumer / "resident.parquet")
            cur = conn.execute(f"SELECT * FROM {consumer}.resident ORDER BY 1")
            assert [d.name for d in cur.description] == expected.column_names
            got = cur.fetchall()
            want = sorted(tuple(r.values()) for r in expected.to_pylist())
            assert got == want  # masked values arrive exactly as the Parquet view holds them
            conn.execute("RESET ROLE")
        conn.execute("SET ROLE siheyuan_police")
        ids = [r[0] for r in _rows(conn, "SELECT id_number FROM police.resident")]
        assert ids and all(i.startswith("330106********") for i in ids)


def test_postgres_role_is_refused_other_views_and_base_tables(pg_server, pg_database, make_version):
    warehouse = make_version(1)
    publish_to_postgres(pg_server.url(pg_database), warehouse)
    with pg_server.connect(pg_database) as conn:
        for consumer in CONSUMERS:
            conn.execute(f"SET ROLE siheyuan_{consumer}")
            forbidden = [
                "siheyuan_v000001.resident",
                f"siheyuan_v000001.{consumer}__resident",
                "siheyuan_audit.publish_log",
            ] + [f"{other}.resident" for other in CONSUMERS if other != consumer]
            for relation in forbidden:
                with pytest.raises(InsufficientPrivilege):
                    conn.execute(f"SELECT * FROM {relation}")
            conn.execute("RESET ROLE")


def test_postgres_reader_never_sees_a_mixed_version(pg_server, pg_database, make_version):
    warehouse = make_version(1)
    url = pg_server.url(pg_database)
    publish_to_postgres(url, warehouse)
    make_version(2)
    # one statement reading every consumer's published_version and the police residents' names
    query = (
        " UNION ALL ".join(f"SELECT version FROM {c}.published_version" for c in sorted(CONSUMERS))
        + " UNION ALL SELECT DISTINCT split_part(name, '-', 2) FROM police.resident"
    )
    seen: list[set[str]] = []
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        with pg_server.connect(pg_database) as conn:
            while not stop.is_set():
                try:
                    seen.append({r[0] for r in conn.execute(query).fetchall()})
                except psycopg.Error as exc:  # a deadlock victim is an error, never a mix
                    errors.append(type(exc).__name__)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        while len(seen) < 20:
            time.sleep(0.01)
        result = publish_to_postgres(url, warehouse)
        n = len(seen)
        while len(seen) < n + 20:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result.switched and result.version == "v000002"
    assert all(len(s) == 1 for s in seen), [s for s in seen if len(s) != 1][:3]
    assert seen[0] == {"v000001"} and seen[-1] == {"v000002"}
    assert len(errors) <= 1, errors


def test_postgres_audit_log_records_and_is_append_only(pg_server, pg_database, make_version):
    warehouse = make_version(1)
    publish_to_postgres(pg_server.url(pg_database), warehouse)
    with pg_server.connect(pg_database) as conn:
        (row,) = _rows(
            conn,
            "SELECT version, run_id, batches, row_counts, published_at::text, audit "
            "FROM siheyuan_audit.publish_log",
        )
        assert row[5] == {"version": "v000001", "checks": {"passed": 3, "failed": 0}}
        assert row[0] == "v000001" and row[1] == "run-1"
        assert row[2] == ["police_20261001.b1"]
        assert row[3]["resident"] == 4 and row[3]["analytics__resident"] == 4
        assert row[4].startswith("2026-12-01 10:00:00")
        for statement in (
            "UPDATE siheyuan_audit.publish_log SET version = 'x'",
            "DELETE FROM siheyuan_audit.publish_log",
            "TRUNCATE siheyuan_audit.publish_log",
        ):
            with pytest.raises(RaiseException, match="append-only"):
                conn.execute(statement)
        assert len(_rows(conn, "SELECT * FROM siheyuan_audit.publish_log")) == 1


def test_postgres_republish_is_idempotent_and_keeps_two_versions(
    pg_server, pg_database, make_version
):
    warehouse = make_version(1)
    url = pg_server.url(pg_database)
    publish_to_postgres(url, warehouse)
    again = publish_to_postgres(url, warehouse)
    assert not again.switched and not again.loaded
    make_version(2)
    second = publish_to_postgres(url, warehouse)
    assert second.loaded and second.dropped_schemas == []
    # a rollback to v1 switches without reloading; roles and grants are re-applied cleanly
    back = publish_to_postgres(url, warehouse, "v000001")
    assert back.switched and not back.loaded
    make_version(3)
    third = publish_to_postgres(url, warehouse)
    assert third.dropped_schemas == ["siheyuan_v000002"]
    with pg_server.connect(pg_database) as conn:
        versions = [r[0] for r in _rows(conn, "SELECT version FROM siheyuan_audit.publish_log")]
        assert versions == ["v000001", "v000002", "v000001", "v000003"]
        conn.execute("SET ROLE siheyuan_hr")
        assert _rows(conn, "SELECT version FROM hr.published_version") == [("v000003",)]
        assert len(_rows(conn, "SELECT * FROM hr.resident")) == 6


def test_postgres_cli_publish_never_prints_the_password(
    pg_server: Server, pg_database: str, make_version, monkeypatch: pytest.MonkeyPatch
):
    warehouse: Path = make_version(1)
    monkeypatch.delenv("SIHEYUAN_POSTGRES_URL", raising=False)
    secret = "Very-Secret-pw"
    url = pg_server.url(pg_database, password=secret)  # trust on the socket: ignored
    runner = CliRunner()
    result = runner.invoke(publish, ["--postgres", url, "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "v000001 loaded into schema siheyuan_v000001" in result.output
    assert secret not in result.output and "***" in result.output
    bad = url.replace(f"/{pg_database}?", "/no_such_db?")
    monkeypatch.setenv("SIHEYUAN_POSTGRES_URL", bad)
    failed = runner.invoke(publish, ["--warehouse", str(warehouse)])
    assert failed.exit_code == 1
    assert "failed" in failed.output and secret not in failed.output


def test_postgres_refuses_a_version_whose_files_do_not_match_the_manifest(
    pg_server, pg_database, make_version
):
    warehouse = make_version(1)
    folder = warehouse / "published" / "v000001"
    (folder / "audit.json").write_text('{"version": "v000001", "checks": "edited"}', "utf-8")
    with pytest.raises(PostgresTargetError, match=r"audit\.json does not match"):
        publish_to_postgres(pg_server.url(pg_database), warehouse)
    # a table's file: refused while loading, the half-loaded schema rolled back
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    del manifest["audit"]
    (folder / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    view = folder / manifest["views"]["health"]["resident"]["file"]
    pq.write_table(pq.read_table(view).slice(1), view)
    with pytest.raises(PostgresTargetError, match=r"health/resident\.parquet does not match"):
        publish_to_postgres(pg_server.url(pg_database), warehouse)
    with pg_server.connect(pg_database) as conn:
        assert _rows(conn, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'siheyuan%'") == []
