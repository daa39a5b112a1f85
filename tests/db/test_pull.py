"""Pulling a department table from a real PostgreSQL server and a SQLite file.

Each test drives ``ingest_dataset`` — the code every landed file goes through — on a contract
that declares a database, and reads the ledger, the raw rows and the pull's lineage back.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from siheyuan.db_sources import PullFailed, pull, read_state
from siheyuan.ingest import ingest_dataset
from siheyuan.standardise.id_number import check_char
from siheyuan.warehouse import initialise
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from db.helpers import (
    HR_COLUMNS,
    READER_PASSWORD,
    CuttingProxy,
    PgServer,
    db_contract,
    hr_rows,
    insert_rows,
    load_table,
    read_csv,
)

URL_ENV = "SIHEYUAN_TEST_DEPT_DB_URL"
FIRST_DAY = date(2026, 9, 1)


def _clean(row: dict[str, Any]) -> bool:
    """A row no check of the gate can object to, so a small batch of them is applied."""
    ssn = row["社会保障号码"] or ""
    return (
        re.fullmatch(r"\d{17}[\dX]", ssn) is not None
        and check_char(ssn[:17]) == ssn[17]
        and row["性别"] in ("男", "女")
        and row["变更类型"] == "新增"
        and bool(row["姓名"])
    )


class Backend:
    """One server holding the HR table: PostgreSQL (变更日期 a DATE) or SQLite (YYYYMMDD text)."""

    def __init__(self, name: str, tmp_path: Path, pg: PgServer | None) -> None:
        self.name = name
        self.pg = pg
        if name == "postgresql":
            assert pg is not None
            self.admin = pg.admin_url.rsplit("/", 1)[0] + f"/hr?host={pg.socket_dir}"
            self.url = pg.reader_url()
        else:
            path = tmp_path / "department.sqlite"
            self.admin = self.url = f"sqlite:///{path}"

    def day(self, offset: int) -> Any:
        d = FIRST_DAY + timedelta(days=offset)
        return d if self.name == "postgresql" else d.strftime("%Y%m%d")

    def load(self, table: str, rows: list[dict[str, Any]], columns: dict[str, str]) -> None:
        types = {"change_date": "DATE"} if self.name == "postgresql" else {}
        load_table(self.admin, table, rows, columns, types)

    def insert(self, table: str, rows: list[dict[str, Any]], columns: dict[str, str]) -> None:
        engine = create_engine(self.admin, poolclass=NullPool)
        with engine.begin() as conn:
            start = conn.execute(text(f"SELECT max(row_id) FROM {table}")).scalar_one() + 1
            insert_rows(conn, table, rows, columns, start)
        engine.dispose()

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        engine = create_engine(self.admin, poolclass=NullPool)
        with engine.begin() as conn:
            conn.execute(text(sql), params or {})
        engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"], ids=["pg", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    pg = request.getfixturevalue("pg") if request.param == "postgresql" else None
    return Backend(request.param, tmp_path, pg)


def _hr_contract(**database: Any):
    return db_contract(
        "hr_insured",
        {
            "url_env": URL_ENV,
            "table": "hr_changes",
            "columns": HR_COLUMNS,
            "watermark": {"column": "change_date", "overlap": "P3D"},
            "order_by": ["change_date", "row_id"],
            "fetch_rows": 10,
            **database,
        },
    )


def _dbs(tmp_path: Path) -> tuple[Path, Path]:
    work, live = tmp_path / "work.duckdb", tmp_path / "live.duckdb"
    for db in (work, live):
        initialise(db, {})
    return work, live


def _dated(backend: Backend, rows: list[dict[str, Any]], offsets: list[int]) -> list[dict]:
    return [{**r, "变更日期": backend.day(o)} for r, o in zip(rows, offsets, strict=True)]


def _query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def _state(db: Path) -> list[tuple]:
    return _query(db, "SELECT watermark_kind, watermark_value FROM meta.source_state")


@pytest.fixture
def clean_hr(sample: Path) -> list[dict[str, Any]]:
    rows = [r for r in hr_rows(sample) if _clean(r)]
    assert len(rows) >= 45
    return rows


def test_delta_pull_takes_only_what_changed_and_a_late_row(
    backend: Backend, clean_hr: list[dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, backend.url)
    contract = _hr_contract()
    first = _dated(backend, clean_hr[:40], [i % 10 for i in range(40)])  # 09-01 … 09-10
    backend.load("hr_changes", first, HR_COLUMNS)
    work, live = _dbs(tmp_path)

    (o1,) = ingest_dataset(work, live, contract, tmp_path / "landing", "run1")
    assert (o1.status, o1.rows_received, o1.rows_accepted) == ("applied", 40, 40)
    mark = "2026-09-10" if backend.name == "postgresql" else "20260910"
    assert _state(work) == [("date" if backend.name == "postgresql" else "text", mark)]

    # unchanged: the overlap window is read again and recognised; no batch, no ledger row
    assert ingest_dataset(work, live, contract, tmp_path / "landing", "run2") == []
    assert _query(work, "SELECT count(*) FROM meta.batch") == [(1,)]
    assert _state(work) == [("date" if backend.name == "postgresql" else "text", mark)]

    # a new change (09-12), a late row dated inside the window (09-08) and one dated before it
    # (09-02: older than mark - overlap, the documented limit of the window)
    new, late, too_late = clean_hr[40], clean_hr[41], clean_hr[42]
    backend.insert("hr_changes", _dated(backend, [new, late, too_late], [11, 7, 1]), HR_COLUMNS)
    (o3,) = ingest_dataset(work, live, contract, tmp_path / "landing", "run3")
    assert (o3.status, o3.rows_received, o3.rows_accepted) == ("applied", 2, 2)
    keys = {r[0] for r in _query(work, 'SELECT _source_key FROM raw."hr_insured"')}
    assert {new["个人编号"], late["个人编号"]} <= keys
    assert too_late["个人编号"] not in keys
    # from mark - overlap (09-07) on: the 16 rows of 09-07 … 09-10 again, recognised, and 2 new
    pulls = _query(
        work,
        "SELECT watermark_from, watermark_to, rows_read, rows_already_pulled, rows_new "
        "FROM meta.pull ORDER BY pulled_at",
    )
    low = "2026-09-07" if backend.name == "postgresql" else "20260907"
    assert pulls[-1] == (low, mark.replace("10", "12"), 18, 16, 2)
    assert _state(work)[0][1] == mark.replace("10", "12")


def test_pull_keeps_lineage_and_goes_through_the_gate(
    backend: Backend, clean_hr: list[dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, backend.url)
    rows = _dated(backend, clean_hr[:30], [0] * 30)
    rows[5] = {**rows[5], "个人编号": None}  # no source key: quarantined, as in a file
    backend.load("hr_changes", rows, HR_COLUMNS)
    work, live = _dbs(tmp_path)
    (o,) = ingest_dataset(work, live, _hr_contract(), tmp_path / "landing", "run1")
    assert (o.status, o.rows_received, o.rows_accepted, o.rows_quarantined) == (
        "applied",
        30,
        29,
        1,
    )
    assert o.balanced()
    assert re.fullmatch(r"hr_insured@db_\d{8}T\d{6}", o.file_name)
    (batch,) = _query(work, "SELECT batch_id, file_name, status, kind FROM meta.batch")
    assert batch[1:] == (o.file_name, "applied", "delta")
    assert _query(work, "SELECT file_name, row_number, reason_code FROM meta.quarantine") == [
        (o.file_name, 6, "missing_source_key")
    ]
    raw = _query(
        work, 'SELECT _batch_id, _file_name, _row_number, "姓名" FROM raw."hr_insured" ORDER BY 3'
    )
    assert [r[2] for r in raw] == [n for n in range(1, 31) if n != 6]
    assert {r[:2] for r in raw} == {(batch[0], o.file_name)}
    assert raw[0][3] == clean_hr[0]["姓名"]
    (pull,) = _query(work, "SELECT batch_id, url_env, source, query, status FROM meta.pull")
    assert pull[:3] == (batch[0], URL_ENV, pull[2])
    assert READER_PASSWORD not in pull[2] and "hr_changes" in pull[3] and pull[4] == "applied"
    checks = _query(work, "SELECT count(*) FROM meta.check_result WHERE batch_id = ?", [batch[0]])
    assert checks[0][0] > 3  # structure, quarantine share and the GX suite ran on the pull


def test_snapshot_pull_and_unchanged_repull(
    backend: Backend, sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot is read whole; the same content again is a no-op, a changed row a new batch.
    The table keeps the department's Chinese column names (identity mapping, quoted)."""
    monkeypatch.setenv(URL_ENV, backend.url)
    (path,) = (sample / "landing" / "police").glob("police_hukou_*.csv")
    rows = read_csv(path, "utf-8")
    identity = {c: c for c in rows[0]}
    backend.load("hukou", rows, identity)
    contract = db_contract("police_hukou", {"url_env": URL_ENV, "table": "hukou"})
    work, live = _dbs(tmp_path)
    (o1,) = ingest_dataset(work, live, contract, tmp_path / "landing", "run1")
    assert (o1.status, o1.rows_received) == ("applied", len(rows))
    assert ingest_dataset(work, live, contract, tmp_path / "landing", "run2") == []
    backend.execute('UPDATE hukou SET "曾用名" = :v WHERE row_id = 3', {"v": "王小明"})
    (o3,) = ingest_dataset(work, live, contract, tmp_path / "landing", "run3")
    assert (o3.status, o3.rows_received) == ("applied", len(rows))
    assert _query(work, "SELECT status, count(*) FROM meta.batch GROUP BY 1") == [("applied", 2)]
    # same text as the file: every raw cell of the pull equals the file's cell
    ingested = _query(
        work,
        'SELECT "人员编号", "姓名", "户籍地址" FROM raw."police_hukou" WHERE _batch_id = ? '
        "ORDER BY _row_number",
        [o1.batch_id],
    )
    by_key = {r["人员编号"]: (r["人员编号"], r["姓名"], r["户籍地址"]) for r in rows}
    assert sorted(ingested) == sorted(by_key.values())


def test_a_missing_column_rejects_the_pull_like_a_file(
    backend: Backend, clean_hr: list[dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, backend.url)
    backend.load("hr_changes", _dated(backend, clean_hr[:5], [0] * 5), HR_COLUMNS)
    contract = _hr_contract(columns={**HR_COLUMNS, "联系电话": "mobile"})
    work, live = _dbs(tmp_path)
    (o,) = ingest_dataset(work, live, contract, tmp_path / "landing", "run1")
    assert (o.status, o.reason_code) == ("rejected", "missing_columns")
    assert "mobile" in (o.reason or "")
    assert _query(live, "SELECT status, reason_code FROM meta.batch") == [
        ("rejected", "missing_columns")
    ]
    assert _query(live, "SELECT status FROM meta.pull") == [("rejected",)]
    assert _state(live) == [] and _state(work) == []


def test_a_connection_dropped_mid_pull_applies_nothing(
    pg: PgServer, clean_hr: list[dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = Backend("postgresql", tmp_path, pg)
    backend.load(
        "hr_changes", _dated(backend, clean_hr[:20], [i % 5 for i in range(20)]), HR_COLUMNS
    )
    work, live = _dbs(tmp_path)
    contract = _hr_contract(watermark={"column": "change_date", "overlap": "P0D"})
    monkeypatch.setenv(URL_ENV, backend.url)
    ingest_dataset(work, live, contract, tmp_path / "landing", "run1")
    before = (_state(work), _query(work, "SELECT count(*) FROM meta.batch"))
    backend.insert("hr_changes", _dated(backend, clean_hr[20:45], [6] * 25), HR_COLUMNS)
    # how many bytes the next pull's conversation takes, through a proxy that never cuts
    whole = CuttingProxy(pg.socket_file)
    monkeypatch.setenv(URL_ENV, pg.reader_url(host=whole.host))
    with duckdb.connect(str(work), read_only=True) as conn:
        state = read_state(conn, contract)
    assert pull(contract, state).rows_read == 4 + 25
    whole.close()
    # the same pull, the connection dropped half-way through the server's answer
    proxy = CuttingProxy(pg.socket_file, cut_after=whole.bytes_from_server // 2)
    try:
        monkeypatch.setenv(URL_ENV, pg.reader_url(host=proxy.host))
        with pytest.raises(PullFailed) as failed:
            ingest_dataset(work, live, contract, tmp_path / "landing", "run2")
    finally:
        proxy.close()
    assert proxy.cut.is_set()
    read = int(re.search(r"failed after (\d+) rows", str(failed.value))[1])
    assert 0 < read < 29  # dropped in the middle of the result
    assert "nothing applied, the watermark did not move" in str(failed.value)
    assert (_state(work), _query(work, "SELECT count(*) FROM meta.batch")) == before
    assert _query(live, "SELECT count(*) FROM meta.batch") == [(0,)]
    # the next pull over a working connection takes every new row
    monkeypatch.setenv(URL_ENV, backend.url)
    (o,) = ingest_dataset(work, live, contract, tmp_path / "landing", "run3")
    assert (o.status, o.rows_received) == ("applied", 25)


def test_wrong_credentials_name_the_source_not_the_password(
    pg: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "not-The-Password-42"
    monkeypatch.setenv(URL_ENV, pg.reader_url(password=wrong))
    work, live = _dbs(tmp_path)
    with pytest.raises(PullFailed) as failed:
        ingest_dataset(work, live, _hr_contract(), tmp_path / "landing", "run1")
    message = str(failed.value)
    assert message.startswith("hr_insured: ")
    assert URL_ENV in message and "password authentication failed" in message
    assert wrong not in message and READER_PASSWORD not in message
    assert "hr_reader:***@" in message
    monkeypatch.delenv(URL_ENV)
    with pytest.raises(PullFailed, match=f"hr_insured: the environment variable {URL_ENV}"):
        ingest_dataset(work, live, _hr_contract(), tmp_path / "landing", "run2")


def test_a_pull_past_its_timeout_applies_nothing(
    pg: PgServer, clean_hr: list[dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = Backend("postgresql", tmp_path, pg)
    backend.load("hr_changes", _dated(backend, clean_hr[:5], [0] * 5), HR_COLUMNS)
    monkeypatch.setenv(URL_ENV, backend.url)
    slow = "SELECT t.* FROM hr_changes AS t CROSS JOIN (SELECT pg_sleep(3)) AS s"
    contract = _hr_contract(table=None, query=slow, timeout_seconds=0.3)
    work, live = _dbs(tmp_path)
    with pytest.raises(PullFailed, match=r"hr_insured: .*statement timeout"):
        ingest_dataset(work, live, contract, tmp_path / "landing", "run1")
    assert _query(work, "SELECT count(*) FROM meta.batch") == [(0,)]
