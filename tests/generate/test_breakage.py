"""Breakage helpers: each produces exactly the broken variant it names."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from siheyuan.generate import GenerateSummary, breakage


def _file(run: GenerateSummary, dataset: str) -> Path:
    return next(f.path for f in run.files if f.dataset == dataset)


def test_wrong_encoding(small_run: GenerateSummary, tmp_path: Path) -> None:
    src = _file(small_run, "police_hukou")
    dst = breakage.wrong_encoding(src, tmp_path / src.name)
    with pytest.raises(UnicodeDecodeError):
        dst.read_bytes().decode("utf-8")
    assert dst.read_bytes().decode("gbk") == src.read_text(encoding="utf-8")
    hr = _file(small_run, "hr_insured")
    dst = breakage.wrong_encoding(hr, tmp_path / hr.name)
    assert dst.read_bytes().decode("utf-8") == hr.read_bytes().decode("gb18030")


def test_bom(small_run: GenerateSummary, tmp_path: Path) -> None:
    src = _file(small_run, "police_floating")
    dst = breakage.add_bom(src, tmp_path / src.name)
    assert dst.read_bytes() == b"\xef\xbb\xbf" + src.read_bytes()


@pytest.mark.parametrize("dataset", ["police_hukou", "hr_insured", "health_records"])
def test_truncations(small_run: GenerateSummary, tmp_path: Path, dataset: str) -> None:
    src = _file(small_run, dataset)
    enc = breakage.source_encoding(src)
    row = breakage.truncate_mid_row(src, tmp_path / ("row_" + src.name))
    data = row.read_bytes()
    assert src.read_bytes().startswith(data) and len(data) < len(src.read_bytes())
    text = data.decode(enc)
    assert not text.endswith("\n") and text.endswith(",")
    char = breakage.truncate_mid_character(src, tmp_path / ("char_" + src.name))
    with pytest.raises(UnicodeDecodeError):
        char.read_bytes().decode(enc)
    assert src.read_bytes().startswith(char.read_bytes())


def test_rename_drop_header_only_csv(small_run: GenerateSummary, tmp_path: Path) -> None:
    src = _file(small_run, "hr_insured")
    renamed = breakage.rename_column(src, tmp_path / "a.csv", "姓名", "名字")
    header = next(csv.reader(io.StringIO(renamed.read_bytes().decode("gb18030"))))
    assert "名字" in header and "姓名" not in header
    dropped = breakage.drop_column(src, tmp_path / "hr_b.csv", "民族")
    rows = list(csv.reader(io.StringIO(dropped.read_bytes().decode("gb18030"))))
    assert "民族" not in rows[0] and all(len(r) == 13 for r in rows)
    only = breakage.header_only(src, tmp_path / "hr_c.csv")
    assert len(only.read_bytes().decode("gb18030").splitlines()) == 1


def test_xlsx_variants(small_run: GenerateSummary, tmp_path: Path) -> None:
    src = _file(small_run, "civil_assistance")
    renamed = breakage.rename_sheet(src, tmp_path / "a.xlsx")
    assert CalamineWorkbook.from_path(str(renamed)).sheet_names == ["Sheet1"]
    col = breakage.rename_column(src, tmp_path / "b.xlsx", "身份证号", "证件号")
    wb = CalamineWorkbook.from_path(str(col))
    assert wb.sheet_names == ["救助对象"]
    assert "证件号" in wb.get_sheet_by_name("救助对象").to_python()[0]


def test_jsonl_variants(small_run: GenerateSummary, tmp_path: Path) -> None:
    src = _file(small_run, "health_records")
    dropped = breakage.drop_column(src, tmp_path / "health_records_x.jsonl", "archive_no")
    assert "archive_no" not in dropped.read_text(encoding="utf-8")
    assert breakage.header_only(src, tmp_path / "h.jsonl").read_bytes() == b""
