"""Broken variants of a good landing file, for tests of the quarantine / reject gate.

The generator never writes broken files by default; these helpers take a file it wrote and
produce one specific breakage each, so a test can say exactly which failure it expects.
Every helper writes ``dst`` (never touching ``src``) and returns it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import xlsxwriter
from python_calamine import CalamineWorkbook

BOM = b"\xef\xbb\xbf"


def source_encoding(path: Path) -> str:
    """The encoding a landing file is delivered in (hr: GB18030, others UTF-8)."""
    return "gb18030" if Path(path).name.startswith("hr_") else "utf-8"


def wrong_encoding(src: Path, dst: Path, encoding: str | None = None) -> Path:
    """Re-encode a text file in the wrong encoding (UTF-8 files as GBK, GB18030 ones as UTF-8)."""
    src, dst = Path(src), Path(dst)
    enc = source_encoding(src)
    target = encoding or ("utf-8" if enc == "gb18030" else "gbk")
    text = src.read_bytes().decode(enc)
    dst.write_bytes(text.encode(target, errors="replace"))
    return dst


def add_bom(src: Path, dst: Path) -> Path:
    """Prefix a UTF-8 byte-order mark (as Excel's 'CSV UTF-8' does)."""
    Path(dst).write_bytes(BOM + Path(src).read_bytes())
    return Path(dst)


def truncate_mid_row(src: Path, dst: Path) -> Path:
    """Cut the file inside a data row (after the header), as an interrupted transfer would.

    The cut falls right after a comma in the middle row, so it splits the row but never a
    character (a comma is never part of a multi-byte character in UTF-8 or GB18030).
    """
    data = Path(src).read_bytes()
    header_end = data.index(b"\n") + 1 if Path(src).suffix != ".jsonl" else 0
    ends = [i for i in range(header_end, len(data)) if data[i] == 0x0A]
    if len(ends) < 2:
        raise ValueError(f"{src} has too few rows to cut one in half")
    row_start = ends[len(ends) // 2 - 1] + 1
    row_end = ends[len(ends) // 2]
    comma = data.find(b",", row_start + (row_end - row_start) // 2, row_end)
    if comma < 0:
        comma = data.find(b",", row_start, row_end)
    Path(dst).write_bytes(data[: comma + 1])
    return Path(dst)


def truncate_mid_character(src: Path, dst: Path) -> Path:
    """Cut the file one byte into a multi-byte character, so the tail does not decode."""
    enc = source_encoding(Path(src))
    text = Path(src).read_bytes().decode(enc)
    for k in range(len(text) // 2, len(text)):
        if ord(text[k]) >= 0x80:
            offset = len(text[:k].encode(enc))
            Path(dst).write_bytes(text[: k + 1].encode(enc)[: offset + 1])
            return Path(dst)
    raise ValueError(f"{src} has no multi-byte character after its middle")


def _read_table(src: Path) -> tuple[list[str], list[list[Any]], str | None]:
    src = Path(src)
    if src.suffix == ".xlsx":
        wb = CalamineWorkbook.from_path(str(src))
        sheet = wb.sheet_names[0]
        rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        return [str(c) for c in rows[0]], [list(r) for r in rows[1:]], sheet
    if src.suffix == ".jsonl":
        objs = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line]
        header = list(objs[0]) if objs else []
        return header, [[o.get(c) for c in header] for o in objs], None
    enc = source_encoding(src)
    rows = list(csv.reader(io.StringIO(src.read_text(encoding=enc), newline="")))
    return rows[0], rows[1:], None


def _write_table(
    src: Path, dst: Path, header: list[str], rows: list[list[Any]], sheet: str | None
) -> Path:
    src, dst = Path(src), Path(dst)
    if src.suffix == ".xlsx":
        wb = xlsxwriter.Workbook(str(dst))
        ws = wb.add_worksheet(sheet or "Sheet1")
        date_fmt = wb.add_format({"num_format": "yyyy/m/d"})
        ws.write_row(0, 0, header)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row):
                if v == "" or v is None:
                    continue
                if isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
                elif isinstance(v, str):
                    ws.write_string(r, c, v)
                else:
                    ws.write_number(r, c, v)
        wb.close()
    elif src.suffix == ".jsonl":
        with dst.open("w", encoding="utf-8", newline="\n") as f:
            for row in rows:
                f.write(json.dumps(dict(zip(header, row, strict=True)), ensure_ascii=False) + "\n")
    else:
        enc = source_encoding(src)
        quote_all = src.name.startswith("hr_")
        with dst.open("w", encoding=enc, newline="") as f:
            w = csv.writer(
                f,
                quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                lineterminator="\r\n" if quote_all else "\n",
            )
            w.writerow(header)
            w.writerows(rows)
    return dst


def rename_column(src: Path, dst: Path, old: str, new: str) -> Path:
    """The same file with one column (or JSON key) renamed."""
    header, rows, sheet = _read_table(src)
    if old not in header:
        raise KeyError(f"{old!r} is not a column of {src}")
    header = [new if c == old else c for c in header]
    return _write_table(src, dst, header, rows, sheet)


def drop_column(src: Path, dst: Path, column: str) -> Path:
    """The same file without one column (or JSON key)."""
    header, rows, sheet = _read_table(src)
    if column not in header:
        raise KeyError(f"{column!r} is not a column of {src}")
    i = header.index(column)
    return _write_table(
        src, dst, header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows], sheet
    )


def header_only(src: Path, dst: Path) -> Path:
    """The header row and no data (JSON Lines: an empty file)."""
    header, _rows, sheet = _read_table(src)
    if Path(src).suffix == ".jsonl":
        Path(dst).write_bytes(b"")
        return Path(dst)
    return _write_table(src, dst, header, [], sheet)


def rename_sheet(src: Path, dst: Path, new: str = "Sheet1") -> Path:
    """An XLSX with its data sheet renamed (the contract expects 救助对象)."""
    if Path(src).suffix != ".xlsx":
        raise ValueError("rename_sheet needs an .xlsx file")
    header, rows, _sheet = _read_table(src)
    return _write_table(src, dst, header, rows, new)
