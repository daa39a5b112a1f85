"""Helpers of the database-source tests: loading generated rows into a table, contracts that
declare a database, and a TCP proxy that drops the connection mid-result."""

from __future__ import annotations

import contextlib
import csv
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from siheyuan.contracts import SourceContract, contracts_dir
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

READER = "hr_reader"
READER_PASSWORD = "s3cret-Reader-pw"

# the HR table as a department database would name its columns (contract column → db column)
HR_COLUMNS = {
    "个人编号": "personal_no",
    "社会保障号码": "ssn",
    "姓名": "name",
    "性别": "sex",
    "出生年月": "birth_month",
    "民族": "ethnicity",
    "参保险种": "scheme",
    "参保状态": "insurance_status",
    "就业状态": "employment_status",
    "单位名称": "employer",
    "联系电话": "phone",
    "通讯地址": "mailing_address",
    "变更类型": "change_type",
    "变更日期": "change_date",
}


@dataclass(frozen=True)
class PgServer:
    admin_url: str  # superuser, trust on the socket
    socket_dir: str
    socket_file: str

    def reader_url(self, password: str = READER_PASSWORD, host: str | None = None) -> str:
        if host is not None:
            return f"postgresql+psycopg://{READER}:{password}@{host}/hr"
        return f"postgresql+psycopg://{READER}:{password}@/hr?host={self.socket_dir}"

    def execute(self, *statements: str, database: str = "hr", params: Any = None) -> None:
        url = self.admin_url.rsplit("/", 1)[0] + f"/{database}?host={self.socket_dir}"
        engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement), params or {})
        engine.dispose()


def read_csv(path: Path, encoding: str) -> list[dict[str, str | None]]:
    """The generator's rows as text, an empty cell as NULL (what a CSV reader makes of it)."""
    with path.open(encoding=encoding, newline="") as fh:
        return [{k: (v if v != "" else None) for k, v in r.items()} for r in csv.DictReader(fh)]


def hr_rows(sample: Path) -> list[dict[str, str | None]]:
    (path,) = sorted((sample / "landing" / "hr").glob("hr_insured_*.csv"))
    return read_csv(path, "gb18030")


def load_table(
    url: str,
    table: str,
    rows: list[dict[str, Any]],
    columns: dict[str, str],
    types: dict[str, str] | None = None,
) -> None:
    """(Re)create ``table`` with ``row_id`` and the mapped columns, and insert ``rows``."""
    types = types or {}
    engine = create_engine(url, poolclass=NullPool)
    defs = ", ".join(f"{db} {types.get(db, 'TEXT')}" for db in columns.values())
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        conn.execute(text(f"CREATE TABLE {table} (row_id INTEGER PRIMARY KEY, {defs})"))
        insert_rows(conn, table, rows, columns, start=1)
    engine.dispose()


def insert_rows(conn, table: str, rows: list[dict[str, Any]], columns: dict[str, str], start: int):
    names = ["row_id", *columns.values()]
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
    params = [
        {"row_id": start + i, **{db: r.get(c) for c, db in columns.items()}}
        for i, r in enumerate(rows)
    ]
    if params:
        conn.execute(text(sql), params)


def db_contract(dataset: str, database: dict[str, Any]) -> SourceContract:
    """The project's contract of ``dataset`` with ``database:`` instead of ``file:``."""
    (path,) = contracts_dir().glob(f"*/{dataset}.yml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.pop("file")
    data["database"] = database
    return SourceContract.model_validate(data)


def write_sources(root: Path, replace: dict[str, dict[str, Any]]) -> Path:
    """A copy of ``sources/`` where the datasets in ``replace`` declare these databases."""
    for path in sorted(contracts_dir().glob("*/*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data["dataset"] in replace:
            data.pop("file")
            data["database"] = replace[data["dataset"]]
        target = root / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return root


class CuttingProxy:
    """TCP on 127.0.0.1 → the server's Unix socket; closes both ends after ``cut_after`` bytes
    from the server (None: never), as a network that drops in the middle of a result would."""

    def __init__(self, socket_file: str, cut_after: int | None = None) -> None:
        self.socket_file = socket_file
        self.cut_after = cut_after
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self.bytes_from_server = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(self.socket_file)
            threading.Thread(target=self._pipe, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, from_server: bool) -> None:
        limit = self.cut_after if from_server else None
        sent = 0
        try:
            while data := src.recv(4096):
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: limit - sent])
                    self.cut.set()
                    break
                dst.sendall(data)
                sent += len(data)
                if from_server:
                    self.bytes_from_server += len(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()
