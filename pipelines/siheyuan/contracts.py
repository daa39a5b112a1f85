"""Source contracts: what each department dataset looks like when it lands.

A contract is a reviewed YAML file under ``sources/<department>/<dataset>.yml``. Everything the
ingest needs to know about a delivery — file format, encoding, sheet, the columns as the department
names them, the source key and snapshot/delta semantics — lives there, so onboarding a new
extract is writing a contract, not code.

A dataset arrives either as files dropped in the landing folder (``file:``) or from a read-only
database view the hub pulls itself (``database:``, see ``docs/database-sources.md``); never
both, so one dataset has one history of batches.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from siheyuan.settings import ConfigurationError, project_root

ColumnType = Literal["string", "integer", "decimal", "date", "month", "timestamp", "string_list"]
Department = Literal["police", "civil_affairs", "health", "hr"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileSpec(_Strict):
    """How the file is delivered."""

    format: Literal["csv", "xlsx", "jsonl"]
    extension: str
    encoding: str | None = None
    delimiter: str = ","
    sheet: str | None = None
    header_row: int = 1

    @model_validator(mode="after")
    def _format_needs(self) -> FileSpec:
        if self.format in ("csv", "jsonl") and not self.encoding:
            raise ValueError(f"{self.format} files need an encoding")
        if self.format == "xlsx" and not self.sheet:
            raise ValueError("xlsx files need a sheet name")
        return self


_READ_ONLY_QUERY = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_WRITE_WORDS = re.compile(
    r"\b(insert|update|delete|merge|drop|alter|create|truncate|grant|revoke|copy|call|do|"
    r"lock|vacuum|refresh|attach|detach|pragma|set|into)\b",
    re.IGNORECASE,
)


class WatermarkSpec(_Strict):
    """How a delta pull finds what changed: rows whose ``column`` is at or after the mark.

    ``column`` is a column of the *database* result (for example 变更日期 or ``updated_at``); the
    mark is the largest value a published pull has seen. The next pull reads from
    ``mark - overlap`` on, so a row written late with an older value is not lost; rows it
    re-reads unchanged are recognised by their content and dropped (see
    docs/decisions/0007-database-sources.md for the window chosen and why).
    """

    column: str
    overlap: timedelta = timedelta(days=7)

    @model_validator(mode="after")
    def _non_negative(self) -> WatermarkSpec:
        if self.overlap < timedelta(0):
            raise ValueError("watermark.overlap cannot be negative")
        return self


class DatabaseSpec(_Strict):
    """A read-only database view the hub pulls from, instead of files in the landing folder.

    The connection is a SQLAlchemy URL kept in the environment variable ``url_env``: the
    repository names the variable, never the URL, so no password is ever committed or logged.
    """

    url_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    table: str | None = None
    query: str | None = None
    # contract column name → database column name; a column not listed has the same name
    columns: dict[str, str] = Field(default_factory=dict)
    watermark: WatermarkSpec | None = None
    order_by: tuple[str, ...] = ()
    schedule: str = "0 2 * * *"
    schedule_timezone: str = "Asia/Shanghai"
    timeout_seconds: float = Field(default=1800, gt=0)
    fetch_rows: int = Field(default=5000, ge=1)

    @model_validator(mode="after")
    def _source(self) -> DatabaseSpec:
        if (self.table is None) == (self.query is None):
            raise ValueError("a database source declares exactly one of table or query")
        if self.table is not None and not re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", self.table
        ):
            raise ValueError(f"table {self.table!r} is not a [schema.]name")
        if self.query is not None:
            body = self.query.strip().rstrip(";")
            if not _READ_ONLY_QUERY.match(body) or ";" in body:
                raise ValueError("query must be one SELECT (or WITH … SELECT) statement")
            if _WRITE_WORDS.search(re.sub(r"'[^']*'", "''", body)):
                raise ValueError("query must only read (it names a writing statement)")
        if len(self.schedule.split()) != 5:
            raise ValueError(f"schedule {self.schedule!r} is not a five-field cron expression")
        return self

    def db_column(self, contract_column: str) -> str:
        return self.columns.get(contract_column, contract_column)


class ColumnSpec(_Strict):
    """One delivered column: its name as the department writes it and our English field name."""

    name: str
    field: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: ColumnType = "string"
    required: bool = False
    sensitive: bool = False
    formats: tuple[str, ...] = ()
    description: str | None = None


class KeySpec(_Strict):
    """The source key: one column, or several joined with a separator."""

    columns: tuple[str, ...]
    separator: str = "-"


class OperationSpec(_Strict):
    """Delta datasets carry an operation column; these are its values per meaning."""

    column: str
    insert: tuple[str, ...]
    update: tuple[str, ...]
    delete: tuple[str, ...]

    def normalise(self, value: str | None) -> str | None:
        """Map a delivered operation value to ``upsert`` / ``delete``; None when unknown."""
        if value is None:
            return None
        v = value.strip()
        if v in self.insert or v in self.update:
            return "upsert"
        if v in self.delete:
            return "delete"
        return None


class SourceContract(_Strict):
    """A department dataset's contract (see ``sources/README.md``)."""

    dataset: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    department: Department
    title: str
    file: FileSpec | None = None
    database: DatabaseSpec | None = None
    kind: Literal["snapshot", "delta"]
    key: KeySpec
    operation: OperationSpec | None = None
    columns: tuple[ColumnSpec, ...]

    @model_validator(mode="after")
    def _consistent(self) -> SourceContract:
        names = [c.name for c in self.columns]
        fields = [c.field for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("duplicate column names")
        if len(set(fields)) != len(fields):
            raise ValueError("duplicate field names")
        for k in self.key.columns:
            if k not in names:
                raise ValueError(f"key column {k!r} is not a declared column")
        if self.kind == "delta" and self.operation is None:
            raise ValueError("a delta dataset needs an operation mapping")
        if self.kind == "snapshot" and self.operation is not None:
            raise ValueError("a snapshot dataset has no operation column")
        if self.operation is not None and self.operation.column not in names:
            raise ValueError(f"operation column {self.operation.column!r} is not declared")
        if (self.file is None) == (self.database is None):
            raise ValueError("a contract declares exactly one of file or database")
        if self.database is not None:
            unknown = sorted(set(self.database.columns) - set(names))
            if unknown:
                raise ValueError(f"database.columns maps undeclared column(s): {unknown}")
            mapped = [self.database.db_column(n) for n in names]
            if len(set(mapped)) != len(mapped):
                raise ValueError("database.columns maps two columns to one database column")
            if self.kind == "delta" and self.database.watermark is None:
                raise ValueError("a delta database source needs a watermark column")
            if self.kind == "snapshot" and self.database.watermark is not None:
                raise ValueError("a snapshot database source is read whole: no watermark")
        return self

    @property
    def is_database(self) -> bool:
        return self.database is not None

    # cached: the readers and the gate ask for these once per row (a contract is frozen)
    @cached_property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @cached_property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @cached_property
    def sensitive_columns(self) -> set[str]:
        return {c.name for c in self.columns if c.sensitive}

    @cached_property
    def _integer_key_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns if c.type == "integer")

    @property
    def file_regex(self) -> re.Pattern[str]:
        """``<dataset>_<YYYYMMDD>[_<seq>].<ext>`` as the landing spec names batches."""
        if self.file is None:
            raise ValueError(f"{self.dataset} is a database source: it has no file pattern")
        ext = re.escape(self.file.extension)
        return re.compile(
            rf"^{re.escape(self.dataset)}_(?P<date>\d{{8}})(?:_(?P<seq>\d{{2}}))?\.{ext}$"
        )

    def source_key(self, record: dict[str, str | None]) -> str | None:
        """The record's source key, or None when any key part is empty.

        A key part the contract types ``integer`` is the number, not its spelling: 成员序号
        written ``01`` one month and ``1`` the next (a text cell, then a number cell) is the
        same member, and a different key would end the record and start a new one.
        """
        integers = self._integer_key_columns
        parts = []
        for col in self.key.columns:
            value = record.get(col)
            if value is None or not str(value).strip():
                return None
            part = str(value).strip()
            if col in integers and part.isascii() and part.isdigit():
                part = str(int(part))
            parts.append(part)
        return self.key.separator.join(parts)


SOURCES_ENV = "SIHEYUAN_SOURCES"


def contracts_dir() -> Path:
    """``sources/`` of the project, or the folder ``SIHEYUAN_SOURCES`` names.

    A deployment whose HR office grants a database view instead of dropping files keeps its
    own contracts folder (the HR contract declaring ``database:``) without editing the
    repository's; the expectations and dbt models stay the project's, keyed by dataset.
    """
    override = os.environ.get(SOURCES_ENV)
    return Path(override).resolve() if override else project_root() / "sources"


def load_contract(path: Path) -> SourceContract:
    """Load and validate one contract file; errors name the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        contract = SourceContract.model_validate(data)
    except Exception as exc:  # re-raised with the file named: the engineer must know which one
        raise ConfigurationError(f"invalid source contract {path}: {exc}") from exc
    if path.parent.name != contract.department or path.stem != contract.dataset:
        raise ConfigurationError(
            f"{path}: a contract lives at sources/<department>/<dataset>.yml "
            f"(expected sources/{contract.department}/{contract.dataset}.yml)"
        )
    return contract


def load_contracts(root: Path | None = None) -> dict[str, SourceContract]:
    """All contracts under ``sources/`` (or ``root``), keyed by dataset, in a stable order.

    Read once per folder and process: ``SIHEYUAN_SOURCES`` set later selects another folder.
    """
    return _load_contracts(root or contracts_dir())


@cache
def _load_contracts(base: Path) -> dict[str, SourceContract]:
    contracts: dict[str, SourceContract] = {}
    for path in sorted(base.glob("*/*.yml")):
        contract = load_contract(path)
        if contract.dataset in contracts:
            raise ConfigurationError(f"dataset {contract.dataset!r} declared twice ({path})")
        contracts[contract.dataset] = contract
    if not contracts:
        raise ConfigurationError(f"no source contracts found under {base}")
    return contracts


load_contracts.cache_clear = _load_contracts.cache_clear  # type: ignore[attr-defined]
