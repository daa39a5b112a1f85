"""Source contracts: what each department dataset looks like when it lands.

A contract is a reviewed YAML file under ``sources/<department>/<dataset>.yml``. Everything the
ingest needs to know about a delivery — file format, encoding, sheet, the columns as the department
names them, the source key and snapshot/delta semantics — lives there, so onboarding a new
extract is writing a contract, not code.
"""

from __future__ import annotations

import re
from functools import cache
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
    file: FileSpec
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
        return self

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def sensitive_columns(self) -> set[str]:
        return {c.name for c in self.columns if c.sensitive}

    @property
    def file_regex(self) -> re.Pattern[str]:
        """``<dataset>_<YYYYMMDD>[_<seq>].<ext>`` as the landing spec names batches."""
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
        types = {c.name: c.type for c in self.columns}
        parts = []
        for col in self.key.columns:
            value = record.get(col)
            if value is None or not str(value).strip():
                return None
            part = str(value).strip()
            if types.get(col) == "integer" and part.isascii() and part.isdigit():
                part = str(int(part))
            parts.append(part)
        return self.key.separator.join(parts)


def contracts_dir() -> Path:
    return project_root() / "sources"


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


@cache
def load_contracts(root: Path | None = None) -> dict[str, SourceContract]:
    """All contracts under ``sources/``, keyed by dataset, in a stable order."""
    base = root or contracts_dir()
    contracts: dict[str, SourceContract] = {}
    for path in sorted(base.glob("*/*.yml")):
        contract = load_contract(path)
        if contract.dataset in contracts:
            raise ConfigurationError(f"dataset {contract.dataset!r} declared twice ({path})")
        contracts[contract.dataset] = contract
    if not contracts:
        raise ConfigurationError(f"no source contracts found under {base}")
    return contracts
