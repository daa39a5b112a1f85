"""Pull a dataset from a department's read-only database view: the database reader.

A source contract with ``database:`` (see ``docs/database-sources.md``) is read here instead of
from a landing file. The pull produces the same thing a file reader produces — a
:class:`~siheyuan.readers.ReadResult` of text rows keyed by the contract's column names — and a
:class:`PulledBatch` that stands where a :class:`~siheyuan.landing.LandedFile` stands, so the
batch goes through the very same gate, quarantine, ledger and report as a file.

What a pull guarantees:

* **All or nothing.** Rows are streamed from a server-side cursor into memory; a lost
  connection, a timeout or any driver error raises :class:`PullFailed` and nothing of the pull
  is returned, so nothing is applied and the watermark stays where it was. The watermark and
  the content hashes of the rows pulled are written in the same transaction that appends the
  batch to the run's working copy, which becomes the live database only when the run publishes.
* **Same text as a file.** Typed values become the text the extract spec declares (a date in the
  column's first declared format, a list as a JSON array); text stays exactly as stored, and an
  empty string is a missing value, as in a CSV file.
* **Only what changed.** A snapshot is read whole; its SHA-256 equal to the latest applied
  snapshot's makes the pull a no-op. A delta reads rows whose watermark column is at or after
  ``mark - overlap``; rows re-read from the overlap window are recognised by their content hash
  and dropped, so an unchanged re-pull is a no-op and a late row with an older watermark value
  is still taken.
* **No password anywhere.** The URL lives in an environment variable; messages show it with the
  password replaced by ``***`` and never repeat the driver's text unmasked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from siheyuan.contracts import ColumnSpec, SourceContract
from siheyuan.quality.privacy import mask_text
from siheyuan.readers import BatchRejected, RawRow, ReadResult, RowProblem, describe_columns

log = logging.getLogger(__name__)


class PullFailed(Exception):
    """A pull that could not complete: no connection, wrong credentials, a timeout, a connection
    lost mid-read. Not the data's fault — nothing is recorded against the data, nothing is
    applied, and the next pull starts from the same watermark. The message names the source and
    never holds a password."""

    def __init__(self, dataset: str, message: str) -> None:
        super().__init__(message)
        self.dataset = dataset


@dataclass(frozen=True)
class Watermark:
    """The high-water mark of a delta source: the largest watermark value a published pull read.

    Kept as text with its kind, so it is stored in DuckDB and compared as the database compares
    it: ``date`` / ``datetime`` (ISO text), ``text`` (as stored), ``number``.
    """

    kind: str
    value: str

    def typed(self) -> Any:
        if self.kind == "date":
            return date.fromisoformat(self.value)
        if self.kind == "datetime":
            return datetime.fromisoformat(self.value)
        if self.kind == "number":
            return Decimal(self.value)
        return self.value


def watermark_of(value: Any) -> Watermark | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return Watermark("datetime", value.isoformat())
    if isinstance(value, date):
        return Watermark("date", value.isoformat())
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return Watermark("number", str(value))
    return Watermark("text", str(value))


@dataclass(frozen=True)
class PullState:
    """What the warehouse remembers of a delta source: the mark and the rows of its window."""

    mark: Watermark | None = None
    pulled: frozenset[str] = frozenset()  # content hashes of rows pulled in the overlap window


@dataclass(frozen=True)
class PulledBatch:
    """One pull: a batch like a landed file (same ledger fields), plus its lineage.

    ``file_name`` names the pull (``<dataset>@db_<local time>``): it is what the ledger, the
    quarantine and the report call the batch. The query, its lower bound and the pull time are
    kept in ``meta.pull`` under the batch id.
    """

    dataset: str
    department: str
    extract_date: date
    seq: int
    sha256: str
    file_name: str
    pulled_at: datetime
    query: str
    low: Watermark | None
    high: Watermark | None
    url_env: str
    source: str  # the URL with its password masked
    rows_read: int
    rows_already_pulled: int
    seconds: float
    result: ReadResult = field(repr=False)
    row_hashes: tuple[tuple[str, Watermark | None], ...] = field(repr=False, default=())
    # set when the result cannot be read as declared (a column missing): rejected like a file
    rejection: BatchRejected | None = None
    path: None = None

    @property
    def batch_id(self) -> str:
        return f"{self.file_name}.{self.sha256[:8]}"

    @property
    def order(self) -> tuple[date, int, str]:
        return (self.extract_date, self.seq, self.dataset)

    @property
    def is_empty(self) -> bool:
        return self.result.rows_received == 0

    def after(self, latest: tuple | None) -> PulledBatch:
        """This pull numbered after ``latest`` (date, seq) so batches stay in order.

        Two pulls in the same second (tests, a manual pull right after a scheduled one) would
        otherwise share a (date, seq), and a delta for an applied (date, seq) is refused.
        """
        if latest is None or (self.extract_date, self.seq) > (latest[0], latest[1]):
            return self
        if self.extract_date == latest[0]:
            return replace(self, seq=int(latest[1]) + 1)
        return self


# --- connection ----------------------------------------------------------------------------


def masked_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (the only form ever shown)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL may still hold a password: show nothing of it
        return "(unparseable URL)"


def source_url(contract: SourceContract) -> str:
    spec = contract.database
    assert spec is not None
    url = os.environ.get(spec.url_env, "").strip()
    if not url:
        raise PullFailed(
            contract.dataset,
            f"{contract.dataset}: the environment variable {spec.url_env} (the SQLAlchemy URL of "
            "its database) is not set",
        )
    return url


def _clean_error(exc: BaseException, url: str) -> str:
    """The driver's message, first line, with the password and any personal data masked."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    from sqlalchemy.engine import make_url

    try:
        password = make_url(url).password
    except Exception:
        password = None
    if password:
        text = text.replace(str(password), "***")
    text = text.replace(url, masked_url(url))
    return mask_text(text) or ""


def _engine(contract: SourceContract, url: str):
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    spec = contract.database
    assert spec is not None
    backend = url.split(":", 1)[0].split("+", 1)[0]
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        # read-only at the server, and bounded: one statement may not run longer than the pull
        ms = int(spec.timeout_seconds * 1000)
        connect_args = {
            "connect_timeout": int(min(max(spec.timeout_seconds, 1), 30)),
            "application_name": f"siheyuan-pull:{contract.dataset}",
            "options": f"-c default_transaction_read_only=on -c statement_timeout={ms}",
        }
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    if backend == "sqlite":

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn, _record) -> None:  # the pull never writes
            dbapi_conn.execute("PRAGMA query_only = ON")

    return engine


# --- the query -----------------------------------------------------------------------------


def _low_bound(contract: SourceContract, mark: Watermark | None) -> Watermark | None:
    """Where the next delta pull starts: ``mark - overlap`` (the mark itself when it cannot be
    moved back: a number, or text that is not in the column's declared date format)."""
    spec = contract.database
    if mark is None or spec is None or spec.watermark is None:
        return None
    overlap = spec.watermark.overlap
    if mark.kind == "date":
        return Watermark("date", (date.fromisoformat(mark.value) - overlap).isoformat())
    if mark.kind == "datetime":
        return Watermark("datetime", (datetime.fromisoformat(mark.value) - overlap).isoformat())
    if mark.kind == "text":
        column = _contract_column_of(contract, spec.watermark.column)
        for fmt in column.formats if column else ():
            try:
                moved = datetime.strptime(mark.value, fmt) - overlap
            except ValueError:
                continue
            return Watermark("text", moved.strftime(fmt))
    return mark


def _contract_column_of(contract: SourceContract, db_column: str) -> ColumnSpec | None:
    spec = contract.database
    assert spec is not None
    for c in contract.columns:
        if spec.db_column(c.name) == db_column:
            return c
    return None


def build_query(
    contract: SourceContract, quote: Callable[[str], str], low: Watermark | None
) -> tuple[str, dict[str, Any]]:
    """The SELECT a pull runs, and its parameters.

    The declared table or query is wrapped, never edited: ``SELECT * FROM (<source>) src
    [WHERE <watermark> >= :low] ORDER BY …``. The order makes the row numbers and the content
    hash repeatable: ``order_by`` when declared, else the watermark (delta) and the key columns.
    """
    spec = contract.database
    assert spec is not None
    if spec.table is not None:
        source = ".".join(quote(part) for part in spec.table.split("."))
    else:
        source = f"({spec.query.strip().rstrip(';')}) AS src"  # type: ignore[union-attr]
    sql = f"SELECT * FROM {source}"
    params: dict[str, Any] = {}
    if low is not None and spec.watermark is not None:
        sql += f" WHERE {quote(spec.watermark.column)} >= :low"
        params["low"] = low.typed()
    order = list(spec.order_by)
    if not order:
        if spec.watermark is not None:
            order.append(spec.watermark.column)
        order += [spec.db_column(k) for k in contract.key.columns if spec.db_column(k) not in order]
    sql += " ORDER BY " + ", ".join(quote(c) for c in order)
    return sql, params


# --- values --------------------------------------------------------------------------------


def cell_text(value: Any, column: ColumnSpec) -> str | None:
    """A database value as the text a delivered file would carry for this column."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if column.formats:
            return value.strftime(column.formats[0])
        if column.type in ("date", "month"):
            return value.date().isoformat()
        return value.isoformat()  # ISO 8601, as the extract spec writes timestamps
    if isinstance(value, date):
        return value.strftime(column.formats[0]) if column.formats else value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise BatchRejected(
                "undecodable", f"column {column.name}: a binary value is not UTF-8 text"
            ) from None
    return str(value)


def _row_line(values: Sequence[str | None], mark: Watermark | None) -> str:
    return json.dumps([*values, mark.value if mark else None], ensure_ascii=False)


# --- the pull ------------------------------------------------------------------------------


def pull(contract: SourceContract, state: PullState, now: datetime | None = None) -> PulledBatch:
    """Read ``contract``'s database source; the rows new since ``state``, as one batch.

    Raises :class:`PullFailed` when the pull cannot complete (nothing of it is kept). A result
    without the declared columns comes back as a batch carrying its ``rejection``, recorded like
    an unreadable file.
    """
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    spec = contract.database
    assert spec is not None
    url = source_url(contract)
    shown = masked_url(url)
    low = _low_bound(contract, state.mark) if contract.kind == "delta" else None
    tz = ZoneInfo(spec.schedule_timezone)
    pulled_at = (now or datetime.now(UTC)).astimezone(tz)
    started = time.monotonic()
    deadline = started + spec.timeout_seconds
    try:
        engine = _engine(contract, url)
    except Exception as exc:  # an unknown driver or a malformed URL
        raise PullFailed(
            contract.dataset,
            f"{contract.dataset}: cannot use the URL in {spec.url_env} ({shown}): "
            f"{_clean_error(exc, url)}",
        ) from None
    quote = engine.dialect.identifier_preparer.quote
    sql, params = build_query(contract, quote, low)
    columns = list(contract.columns)
    names = [c.name for c in columns]
    result = ReadResult()
    hashes: list[tuple[str, Watermark | None]] = []
    digest = hashlib.sha256()
    already = 0
    read = 0
    high = state.mark
    rejection: BatchRejected | None = None
    try:
        with engine.connect() as conn:
            cursor = conn.execution_options(stream_results=True, yield_per=spec.fetch_rows).execute(
                text(sql), params
            )
            header = list(cursor.keys())
            positions = _check_columns(contract, header)
            wm_at = header.index(spec.watermark.column) if spec.watermark else None
            for chunk in cursor.partitions(spec.fetch_rows):
                for raw in chunk:
                    read += 1
                    values = [cell_text(raw[i], c) for i, c in zip(positions, columns, strict=True)]
                    mark = watermark_of(raw[wm_at]) if wm_at is not None else None
                    line = _row_line(values, mark)
                    row_hash = hashlib.sha256(line.encode("utf-8")).hexdigest()
                    if row_hash in state.pulled:
                        already += 1  # re-read from the overlap window, pulled before
                        continue
                    hashes.append((row_hash, mark))
                    digest.update(line.encode("utf-8") + b"\n")
                    if mark is not None and (high is None or _greater(mark, high)):
                        high = mark
                    if all(v is None or not v.strip() for v in values):
                        result.problems.append(RowProblem(read, "empty_row", "empty row"))
                        continue
                    result.rows.append(RawRow(read, dict(zip(names, values, strict=True))))
                if time.monotonic() > deadline:
                    raise TimeoutError
    except BatchRejected as exc:
        rejection = exc
        result = ReadResult()
        hashes = []
        high = state.mark
        digest = hashlib.sha256(f"{sql}\n{exc.reason_code}\n{exc.reason}".encode())
    except TimeoutError:
        raise PullFailed(
            contract.dataset,
            f"{contract.dataset}: pull from {shown} timed out after {spec.timeout_seconds:g} s "
            f"({read} rows read); nothing applied, the watermark did not move",
        ) from None
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        raise PullFailed(
            contract.dataset,
            f"{contract.dataset}: pull from {shown} ({spec.url_env}) failed after {read} rows: "
            f"{_clean_error(exc, url)}; nothing applied, the watermark did not move",
        ) from None
    finally:
        engine.dispose()
    seconds = time.monotonic() - started
    return PulledBatch(
        dataset=contract.dataset,
        department=contract.department,
        extract_date=pulled_at.date(),
        seq=pulled_at.hour * 10000 + pulled_at.minute * 100 + pulled_at.second,
        sha256=digest.hexdigest(),
        file_name=f"{contract.dataset}@db_{pulled_at:%Y%m%dT%H%M%S}",
        pulled_at=pulled_at.astimezone(UTC).replace(tzinfo=None),
        query=sql,
        low=low,
        high=high,
        url_env=spec.url_env,
        source=shown,
        rows_read=read,
        rows_already_pulled=already,
        seconds=seconds,
        result=result,
        row_hashes=tuple(hashes),
        rejection=rejection,
    )


def _greater(a: Watermark, b: Watermark) -> bool:
    if a.kind != b.kind:  # the column changed type: the newest pull's values rule
        return True
    return a.typed() > b.typed()


def _check_columns(contract: SourceContract, header: list[str]) -> list[int]:
    """Positions of the declared columns in the result; a missing one rejects the pull whole."""
    spec = contract.database
    assert spec is not None
    wanted = [spec.db_column(c) for c in contract.column_names]
    if spec.watermark is not None:
        wanted.append(spec.watermark.column)
    missing = [c for c in dict.fromkeys(wanted) if c not in header]
    if missing:
        extra = [h for h in header if h not in wanted]
        hint = f"; unexpected columns: {describe_columns(extra)}" if extra else ""
        raise BatchRejected(
            "missing_columns",
            f"{contract.dataset}: declared column(s) missing or renamed in the database result: "
            f"{', '.join(missing)}{hint}",
        )
    duplicated = sorted({h for h in header if header.count(h) > 1 and h in wanted})
    if duplicated:
        raise BatchRejected(
            "duplicate_columns",
            f"{contract.dataset}: column(s) appear twice in the result: {', '.join(duplicated)}",
        )
    return [header.index(spec.db_column(c)) for c in contract.column_names]


# --- what the warehouse remembers -----------------------------------------------------------


def read_state(conn, contract: SourceContract) -> PullState:
    """The source's mark and the hashes of the rows its window re-reads (from meta)."""
    from siheyuan.warehouse import table_exists

    if not table_exists(conn, "meta", "source_state"):
        return PullState()
    row = conn.execute(
        "SELECT watermark_kind, watermark_value FROM meta.source_state WHERE dataset = ?",
        [contract.dataset],
    ).fetchone()
    mark = Watermark(row[0], row[1]) if row and row[0] is not None else None
    hashes = frozenset(
        r[0]
        for r in conn.execute(
            "SELECT row_sha256 FROM meta.pulled_row WHERE dataset = ?", [contract.dataset]
        ).fetchall()
    )
    return PullState(mark, hashes)


def record_pull(conn, contract: SourceContract, batch: PulledBatch, status: str) -> None:
    """The pull's lineage in ``meta.pull``; when applied, also the new mark and the window's rows.

    Called inside the transaction that appends the batch (or records its rejection): the mark
    moves only with the batch, and only when the run that applied it publishes.
    """
    conn.execute(
        "INSERT INTO meta.pull VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch.batch_id,
            batch.dataset,
            batch.file_name,
            batch.url_env,
            batch.source,
            batch.query,
            batch.low.value if batch.low else None,
            batch.high.value if batch.high else None,
            batch.pulled_at,
            batch.rows_read,
            batch.rows_already_pulled,
            batch.result.rows_received,
            round(batch.seconds, 3),
            status,
        ],
    )
    if status != "applied" or contract.kind != "delta":
        return
    new_low = _low_bound(contract, batch.high)
    kept = [
        (h, Watermark(k, v) if k is not None else None, b)
        for h, k, v, b in conn.execute(
            "SELECT row_sha256, watermark_kind, watermark_value, batch_id FROM meta.pulled_row "
            "WHERE dataset = ?",
            [batch.dataset],
        ).fetchall()
    ]
    new = [(h, m, batch.batch_id) for h, m in batch.row_hashes]
    rows = [r for r in [*kept, *new] if _in_window(r[1], new_low)]
    conn.execute("DELETE FROM meta.pulled_row WHERE dataset = ?", [batch.dataset])
    if rows:
        table = pa.table(
            {
                "dataset": pa.array([batch.dataset] * len(rows), pa.string()),
                "row_sha256": pa.array([r[0] for r in rows], pa.string()),
                "watermark_kind": pa.array([r[1].kind for r in rows], pa.string()),
                "watermark_value": pa.array([r[1].value for r in rows], pa.string()),
                "batch_id": pa.array([r[2] for r in rows], pa.string()),
            }
        )
        conn.register("incoming_pulled_rows", table)
        conn.execute("INSERT INTO meta.pulled_row BY NAME SELECT * FROM incoming_pulled_rows")
        conn.unregister("incoming_pulled_rows")
    conn.execute("DELETE FROM meta.source_state WHERE dataset = ?", [batch.dataset])
    conn.execute(
        "INSERT INTO meta.source_state VALUES (?, ?, ?, ?, ?)",
        [
            batch.dataset,
            batch.high.kind if batch.high else None,
            batch.high.value if batch.high else None,
            batch.batch_id,
            batch.pulled_at,
        ],
    )


def _in_window(mark: Watermark | None, low: Watermark | None) -> bool:
    """A row the next pull re-reads (its watermark at or after the next lower bound)."""
    if mark is None:
        return False  # a row without a watermark value is never selected by a delta pull
    if low is None or mark.kind != low.kind:
        return True
    return mark.typed() >= low.typed()
