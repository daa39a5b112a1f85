"""Read one delivered file into raw text rows, exactly as the department wrote them.

Readers never clean values: every cell stays the department's text (trimmed of nothing), so every
published value can be traced back to what arrived. They decide only three things:

* the whole file is unreadable as its contract declares (wrong encoding, sheet missing, a declared
  column missing or renamed, no header) → :class:`BatchRejected`, nothing from it is applied;
* one row cannot be used (empty, wrong number of fields, a JSON line that does not parse) → a
  :class:`RowProblem` with its physical row number, kept for the quarantine;
* everything else → a :class:`RawRow` of text values keyed by the delivered column names.

Accepted quirks: a UTF-8 byte-order mark on a UTF-8 file is stripped (the file still decodes
losslessly; Excel on Windows writes one when saving "CSV UTF-8"). Empty rows at the very end of a
file are not rows — a blank line before EOF in a CSV or JSON Lines file, like the trailing empty
rows of a sheet's used range, is how editors and exports end a file, not a delivered record; an
empty row *between* records is one, and is quarantined (``empty_row``).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from siheyuan.contracts import SourceContract

UTF8_BOM = "\ufeff"


class BatchRejected(Exception):
    """A whole file cannot be applied. ``reason`` is one line an engineer can act on.

    ``rows_read``: the data rows read before the file was refused (the ledger's rows_received),
    None when it was refused before its rows were read (undecodable, a header problem, order).
    """

    def __init__(self, reason_code: str, reason: str, rows_read: int | None = None) -> None:
        super().__init__(reason)
        self.reason_code = reason_code
        self.reason = reason
        self.rows_read = rows_read


@dataclass(frozen=True)
class RawRow:
    row_number: int
    values: dict[str, str | None]


@dataclass(frozen=True)
class RowProblem:
    row_number: int
    reason_code: str
    reason: str
    source_key: str | None = None


@dataclass
class ReadResult:
    rows: list[RawRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)

    @property
    def rows_received(self) -> int:
        return len(self.rows) + len(self.problems)


def read_batch(contract: SourceContract, path: Path) -> ReadResult:
    """Read ``path`` as ``contract`` declares it."""
    fmt = contract.file.format
    if fmt == "csv":
        return _read_csv(contract, path)
    if fmt == "jsonl":
        return _read_jsonl(contract, path)
    if fmt == "xlsx":
        return _read_xlsx(contract, path)
    raise BatchRejected("unsupported_format", f"{path.name}: unsupported format {fmt}")


# --- text files -------------------------------------------------------------------------------


def _decode(contract: SourceContract, path: Path) -> str:
    encoding = contract.file.encoding or "utf-8"
    data = path.read_bytes()
    try:
        text = data.decode(encoding, errors="strict")
    except UnicodeDecodeError as exc:
        raise BatchRejected(
            "undecodable",
            f"{path.name}: cannot be decoded as {encoding} at byte {exc.start} "
            f"(wrong encoding or a truncated multi-byte character)",
        ) from None
    if text.startswith(UTF8_BOM):
        text = text[1:]
    return text


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def describe_columns(names: list[str]) -> str:
    """Column names for a message — unless they look like data (a header row that is missing).

    A file without its header row puts a person's ID number, name and address where the column
    names should be; those must never reach a log, a reason or a report.
    """
    looks_like_data = any(len(n) > 12 or sum(ch.isdigit() for ch in n) > 2 for n in names)
    if looks_like_data:
        return f"{len(names)} column(s) that look like data (is the header row missing?)"
    return ", ".join(names)


def _check_header(contract: SourceContract, path: Path, header: list[str]) -> list[str]:
    """Reject a file whose declared columns are not all there; return the extra ones."""
    missing = [c for c in contract.column_names if c not in header]
    if missing:
        extra = [h for h in header if h not in contract.column_names]
        hint = f"; unexpected columns: {describe_columns(extra)}" if extra else ""
        raise BatchRejected(
            "missing_columns",
            f"{path.name}: declared column(s) missing or renamed: {', '.join(missing)}{hint}",
        )
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise BatchRejected(
            "duplicate_columns", f"{path.name}: column(s) appear twice: {', '.join(duplicated)}"
        )
    return [h for h in header if h not in contract.column_names]


def _read_csv(contract: SourceContract, path: Path) -> ReadResult:
    text = _decode(contract, path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=contract.file.delimiter)
    try:
        header_cells = next(reader)
    except StopIteration:
        raise BatchRejected("empty_file", f"{path.name}: the file is empty (no header)") from None
    except csv.Error as exc:
        raise BatchRejected("unreadable", f"{path.name}: header cannot be parsed: {exc}") from None
    header = [h.strip() for h in header_cells]
    result = ReadResult(extra_columns=_check_header(contract, path, header))
    wanted = [(header.index(c), c) for c in contract.column_names]
    last_line = reader.line_num
    try:
        for cells in reader:
            row_number = last_line + 1  # physical line where this record starts
            last_line = reader.line_num
            # every cell blank: one strip of the joined cells (a million rows a snapshot)
            if not "".join(cells).strip():
                result.problems.append(RowProblem(row_number, "empty_row", "empty row"))
                continue
            if len(cells) != len(header):
                # no source key: in a shifted row the key column holds whatever slid into it
                # (often an ID number), which must not be stored as if it were the key
                result.problems.append(
                    RowProblem(
                        row_number,
                        "field_count_mismatch",
                        f"row has {len(cells)} fields, the header has {len(header)} "
                        "(shifted, cut or merged row)",
                    )
                )
                continue
            result.rows.append(RawRow(row_number, {c: cells[i] or None for i, c in wanted}))
    except csv.Error as exc:
        raise BatchRejected(
            "unreadable", f"{path.name}: CSV cannot be parsed near line {reader.line_num}: {exc}"
        ) from None
    _reject_if_truncated_csv(path, text, result)
    _drop_trailing_empty_rows(result)
    return result


def _drop_trailing_empty_rows(result: ReadResult) -> None:
    """Empty rows after the last record end the file; they are not delivered rows."""
    while (
        result.problems
        and result.problems[-1].reason_code == "empty_row"
        and (not result.rows or result.problems[-1].row_number > result.rows[-1].row_number)
    ):
        result.problems.pop()


def _reject_if_truncated_csv(path: Path, text: str, result: ReadResult) -> None:
    """A file that stops inside its last record was cut in transfer: reject it whole.

    Applying the rows before the cut would end every record after it (snapshot semantics), so a
    cut file must never pass as a shorter list. A last line without a line break is accepted
    only when it is a complete record (its field count matches, its quotes are closed).
    """
    if not text or text.endswith(("\n", "\r")):
        return
    tail = text[text.rfind("\n") + 1 :]
    last = result.problems[-1] if result.problems else None
    cut_row = (
        last is not None
        and last.reason_code == "field_count_mismatch"
        and (not result.rows or last.row_number > result.rows[-1].row_number)
    )
    if cut_row or tail.count('"') % 2 == 1:
        raise BatchRejected(
            "truncated",
            f"{path.name}: truncated — the file ends inside its last record (no line break, "
            "incomplete fields); was it cut in transfer?",
            result.rows_received,
        )


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _read_jsonl(contract: SourceContract, path: Path) -> ReadResult:
    text = _decode(contract, path)
    result = ReadResult()
    key_lines: Counter[str] = Counter()  # key -> lines that carry it
    declared = contract.column_names
    incomplete: list[tuple[RawRow, list[str]]] = []  # upsert lines without every declared key
    # split on "\n" only: str.splitlines() would also split on U+2028/U+0085, legal in JSON strings
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line_no, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            result.problems.append(RowProblem(line_no, "empty_row", "empty line"))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            result.problems.append(
                RowProblem(line_no, "malformed_json", f"line is not valid JSON ({exc.msg})")
            )
            continue
        if not isinstance(obj, dict):
            result.problems.append(
                RowProblem(line_no, "malformed_json", "line is JSON but not an object")
            )
            continue
        key_lines.update(obj.keys())
        row = RawRow(line_no, {c: _json_text(obj.get(c)) for c in declared})
        result.rows.append(row)
        missing = [c for c in declared if c not in obj]
        if missing and not _is_delete(contract, row):
            incomplete.append((row, missing))
    if (
        not text.endswith("\n")
        and result.problems
        and result.problems[-1].row_number == len(lines)
        and result.problems[-1].reason_code == "malformed_json"
    ):
        raise BatchRejected(
            "truncated",
            f"{path.name}: truncated — the last line is cut (no line break, not valid JSON); "
            "was it cut in transfer?",
            result.rows_received,
        )
    _drop_trailing_empty_rows(result)
    if not result.rows and not result.problems:
        raise BatchRejected("empty_file", f"{path.name}: the file is empty")
    if result.rows:
        _reject_renamed_json_keys(contract, path, result, key_lines)
        result.extra_columns = sorted(set(key_lines) - set(declared))
    _quarantine_incomplete_lines(contract, result, incomplete)
    return result


def _is_delete(contract: SourceContract, row: RawRow) -> bool:
    op = contract.operation
    return op is not None and op.normalise(row.values.get(op.column)) == "delete"


def _quarantine_incomplete_lines(
    contract: SourceContract, result: ReadResult, incomplete: list[tuple[RawRow, list[str]]]
) -> None:
    """An insert or update line without a declared key goes to the quarantine.

    The spec names every key of every object (a value may be null); a key that is *missing*
    would read as null, and the line's null is the record's latest word: its phone or its
    conditions would be erased by a line that never mentioned them. A batch too small for the
    renamed-key rule (``json_keys.min_rows``) is caught here, line by line. A delete line may
    carry only its key.
    """
    if not incomplete:
        return
    set_aside = {id(row) for row, _ in incomplete}
    result.rows = [r for r in result.rows if id(r) not in set_aside]
    for row, missing in incomplete:
        result.problems.append(
            RowProblem(
                row.row_number,
                "missing_keys",
                f"declared key(s) missing on this line: {', '.join(missing)} — a missing key "
                "would erase the record's value",
                contract.source_key(row.values),
            )
        )
    result.problems.sort(key=lambda p: p.row_number)


def _reject_renamed_json_keys(
    contract: SourceContract, path: Path, result: ReadResult, key_lines: Counter[str]
) -> None:
    """A renamed or dropped key loses its values silently: refuse the batch instead.

    A JSON line names its keys, so a key that is missing reads as null, not as a broken header.
    A required key on no line is always refused; any declared key on no line of a batch of at
    least ``json_keys.min_rows`` lines, or an undeclared key on more than
    ``json_keys.max_undeclared_share`` of its lines (a rename on some lines only), likewise.
    """
    from siheyuan.quality.config import load_settings  # settings live with the quality gate

    n = len(result.rows)
    absent = [c for c in contract.required_columns if not key_lines[c]]
    rules = load_settings(contract.dataset).structure.json_keys
    undeclared: list[str] = []
    if rules is not None:
        if n >= rules.min_rows:
            absent += [c for c in contract.column_names if not key_lines[c] and c not in absent]
        undeclared = [
            k
            for k, lines in sorted(key_lines.items())
            if k not in contract.column_names and lines > rules.max_undeclared_share * n
        ]
    if absent or undeclared:
        parts = [f"declared key(s) on no line: {', '.join(absent)}"] if absent else []
        if undeclared:
            parts.append(f"undeclared key(s) on most lines: {describe_columns(undeclared)}")
        raise BatchRejected(
            "missing_columns",
            f"{path.name}: key(s) missing or renamed ({'; '.join(parts)}) in {n} lines",
            result.rows_received,
        )


# --- spreadsheets -----------------------------------------------------------------------------


def xlsx_cell_text(value: object) -> str | None:
    """A spreadsheet cell as the text the department meant, without inventing precision.

    Integral numbers below 1e15 print as integers (member numbers, amounts); anything larger keeps
    Excel's 15 significant digits in exponent form, so an ID number Excel turned into a number stays
    recognisably mangled (``4.10102199001011E+17``) instead of looking like a plausible 18-digit ID.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15G")
    if isinstance(value, int):
        return str(value) if abs(value) < 10**15 else format(float(value), ".15G")
    return str(value)


def _sheet_rows(path: Path, sheet: str) -> Iterator[list[object]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for a broken zip/xml
        raise BatchRejected(
            "unreadable", f"{path.name}: not a readable XLSX workbook ({type(exc).__name__})"
        ) from None
    if sheet not in workbook.sheet_names:
        raise BatchRejected(
            "sheet_missing",
            f"{path.name}: sheet {sheet!r} not found (sheets: {', '.join(workbook.sheet_names)})",
        )
    yield from workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def _read_xlsx(contract: SourceContract, path: Path) -> ReadResult:
    sheet = contract.file.sheet or ""
    rows = _sheet_rows(path, sheet)
    header_at = contract.file.header_row
    header: list[str] | None = None
    result = ReadResult()
    wanted: list[tuple[int, str]] = []
    for index, cells in enumerate(rows, start=1):
        if index < header_at:
            continue
        if index == header_at:
            header = [(xlsx_cell_text(c) or "").strip() for c in cells]
            while header and header[-1] == "":
                header.pop()
            result.extra_columns = _check_header(contract, path, header)
            wanted = [(header.index(c), c) for c in contract.column_names]
            continue
        texts = [xlsx_cell_text(c) for c in cells]
        if all(_blank(t) for t in texts):
            result.problems.append(RowProblem(index, "empty_row", "empty row"))
            continue
        values = {c: (texts[i] if i < len(texts) else None) for i, c in wanted}
        result.rows.append(RawRow(index, values))
    if header is None:
        raise BatchRejected("empty_file", f"{path.name}: sheet {sheet!r} has no header row")
    # A trailing run of empty rows is only the sheet's used range, not delivered rows.
    _drop_trailing_empty_rows(result)
    return result
