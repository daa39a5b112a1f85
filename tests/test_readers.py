"""Each reader keeps the department's text as delivered, rejects unreadable files whole and
reports unusable rows with their physical row number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xlsxwriter
from siheyuan.contracts import load_contracts
from siheyuan.quality.config import load_settings
from siheyuan.readers import BatchRejected, read_batch, xlsx_cell_text

CONTRACTS = load_contracts()
HUKOU_HEADER = ",".join(CONTRACTS["police_hukou"].column_names)
HR_HEADER = ",".join(f'"{c}"' for c in CONTRACTS["hr_insured"].column_names)


def _hukou_row(person_no: str, name: str = "张伟", id_number: str = "330106198503021234") -> str:
    return (
        f"{person_no},{id_number},{name},,1,01,19850302,H001,02,浙江省杭州市西湖区学院路77号,正常,"
    )


def test_utf8_csv_keeps_raw_text_and_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "police_hukou_20261001.csv"
    path.write_text(
        "\n".join([HUKOU_HEADER, _hukou_row("P1", name=" 张 伟 "), ",,,,,,,,,,,", _hukou_row("P2")])
        + "\n",
        encoding="utf-8",
    )
    result = read_batch(CONTRACTS["police_hukou"], path)
    assert [r.row_number for r in result.rows] == [2, 4]
    assert result.rows[0].values["姓名"] == " 张 伟 "  # untouched: cleaning is the models' job
    assert result.rows[0].values["曾用名"] is None
    assert [(p.row_number, p.reason_code) for p in result.problems] == [(3, "empty_row")]
    assert result.rows_received == 3


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "police_hukou_20261001.csv"
    path.write_bytes(("\ufeff" + HUKOU_HEADER + "\n" + _hukou_row("P1") + "\n").encode("utf-8"))
    assert len(read_batch(CONTRACTS["police_hukou"], path).rows) == 1


def test_gb18030_csv_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "hr_insured_20261001.csv"
    row = (
        '"R1","330106198503021234","王芳","女","198503","汉族","企业职工基本养老保险",'
        '"正常参保","就业","杭州某某科技有限公司","13800000000","学院路77号","新增","20261001"'
    )
    path.write_bytes((HR_HEADER + "\r\n" + row + "\r\n").encode("gb18030"))
    result = read_batch(CONTRACTS["hr_insured"], path)
    assert result.rows[0].values["姓名"] == "王芳"
    assert result.rows[0].values["变更类型"] == "新增"


def test_wrong_encoding_rejects_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "police_hukou_20261001.csv"
    path.write_bytes((HUKOU_HEADER + "\n" + _hukou_row("P1") + "\n").encode("gb18030"))
    with pytest.raises(BatchRejected) as info:
        read_batch(CONTRACTS["police_hukou"], path)
    assert info.value.reason_code == "undecodable"
    assert "police_hukou_20261001.csv" in info.value.reason and "utf-8" in info.value.reason


def test_renamed_column_rejects_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "police_hukou_20261001.csv"
    path.write_text(HUKOU_HEADER.replace("姓名", "名字") + "\n" + _hukou_row("P1") + "\n", "utf-8")
    with pytest.raises(BatchRejected, match=r"姓名.*unexpected columns: 名字"):
        read_batch(CONTRACTS["police_hukou"], path)


def test_short_row_is_a_row_problem_not_a_batch_failure(tmp_path: Path) -> None:
    path = tmp_path / "police_hukou_20261001.csv"
    path.write_text(HUKOU_HEADER + "\n" + _hukou_row("P1") + "\nP2,3301061985\n", "utf-8")
    result = read_batch(CONTRACTS["police_hukou"], path)
    assert len(result.rows) == 1
    assert result.problems[0].reason_code == "field_count_mismatch"
    assert result.problems[0].source_key is None  # the key column may hold a slid value


def test_jsonl_lists_and_nulls(tmp_path: Path) -> None:
    path = tmp_path / "health_records_20261001.jsonl"
    good = {
        "archive_no": "A1",
        "op": "I",
        "name": "李娜",
        "gender_code": "2",
        "birth_date": "1990-01-01",
        "id_type": "01",
        "id_no": None,
        "guardian_id_no": None,
        "phone": "13800000000",
        "address": "学院路77号",
        "chronic": ["高血压", "2型糖尿病"],
        "death_date": None,
        "updated_at": "2026-10-01T08:00:00",
    }
    path.write_text(
        json.dumps(good, ensure_ascii=False) + '\n{"archive_no": "A2", \n', encoding="utf-8"
    )
    result = read_batch(CONTRACTS["health_records"], path)
    assert result.rows[0].values["chronic"] == '["高血压", "2型糖尿病"]'
    assert result.rows[0].values["id_no"] is None
    assert [(p.row_number, p.reason_code) for p in result.problems] == [(2, "malformed_json")]


def _xlsx(path: Path, sheet: str, rows: list[list[object]]) -> None:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(sheet)
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if hasattr(value, "year"):
                ws.write_datetime(r, c, value, date_fmt)
            elif value is not None:
                ws.write(r, c, value)
    wb.close()


def test_xlsx_cells_become_the_text_the_department_meant(tmp_path: Path) -> None:
    from datetime import datetime

    contract = CONTRACTS["civil_assistance"]
    path = tmp_path / "civil_assistance_20261001.xlsx"
    row = [
        "F001",
        1,
        "城乡低保",
        "王芳",
        4.10102199001011e17,
        "女",
        datetime(1985, 3, 2),
        "本人",
        "金都花园3-2-501",
        "13800000000",
        1200,
        "202601",
        "在保",
    ]
    _xlsx(path, "救助对象", [contract.column_names, row, [None] * 13, [*row[:1], 2, *row[2:]]])
    result = read_batch(contract, path)
    first = result.rows[0].values
    assert first["身份证号"] == "4.10102199001011E+17"  # mangled stays recognisably mangled
    assert first["出生日期"] == "1985-03-02"
    assert first["成员序号"] == "1" and first["月保障金额"] == "1200"
    assert [r.row_number for r in result.rows] == [2, 4]
    assert [(p.row_number, p.reason_code) for p in result.problems] == [(3, "empty_row")]


def test_xlsx_with_the_sheet_renamed_is_rejected(tmp_path: Path) -> None:
    contract = CONTRACTS["civil_assistance"]
    path = tmp_path / "civil_assistance_20261001.xlsx"
    _xlsx(path, "Sheet1", [contract.column_names])
    with pytest.raises(BatchRejected) as info:
        read_batch(contract, path)
    assert info.value.reason_code == "sheet_missing" and "救助对象" in info.value.reason


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        (None, None),
        ("", None),
        ("0571", "0571"),
        (2.0, "2"),
        (1234.5, "1234.5"),
        (4.10102199001011e17, "4.10102199001011E+17"),
        (True, "TRUE"),
    ],
)
def test_xlsx_cell_text(cell: object, text: str | None) -> None:
    assert xlsx_cell_text(cell) == text


def test_a_file_cut_inside_its_last_row_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "police_hukou_20261001.csv"
    path.write_text(HUKOU_HEADER + "\n" + _hukou_row("P1") + "\nP2,3301061985", "utf-8")
    with pytest.raises(BatchRejected) as info:
        read_batch(CONTRACTS["police_hukou"], path)
    assert info.value.reason_code == "truncated"


def test_a_file_cut_inside_a_quoted_field_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "hr_insured_20261001.csv"
    row = ",".join(
        f'"{v}"'
        for v in [
            "R1",
            "3301",
            "王芳",
            "女",
            "198503",
            "汉族",
            "x",
            "正常参保",
            "就业",
            "单位",
            "138",
            "地址",
            "新增",
            "20261001",
        ]
    )
    path.write_bytes((HR_HEADER + "\r\n" + row[:-5]).encode("gb18030"))
    with pytest.raises(BatchRejected, match="truncated"):
        read_batch(CONTRACTS["hr_insured"], path)


def test_a_complete_last_row_without_a_line_break_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "police_hukou_20261001.csv"
    path.write_text(HUKOU_HEADER + "\n" + _hukou_row("P1") + "\n" + _hukou_row("P2"), "utf-8")
    assert len(read_batch(CONTRACTS["police_hukou"], path).rows) == 2


def test_a_jsonl_file_cut_mid_line_is_rejected_but_a_bad_inner_line_is_quarantined(
    tmp_path: Path,
) -> None:
    contract = CONTRACTS["health_records"]
    good = _health_line(1, op="I")
    cut = tmp_path / "health_records_20261001.jsonl"
    cut.write_text(good + "\n" + good[:20], encoding="utf-8")
    with pytest.raises(BatchRejected, match="truncated"):
        read_batch(contract, cut)
    inner = tmp_path / "health_records_20261101.jsonl"
    inner.write_text(good[:20] + "\n" + good + "\n", encoding="utf-8")
    assert [p.reason_code for p in read_batch(contract, inner).problems] == ["malformed_json"]


def test_a_missing_header_row_never_puts_personal_data_in_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "police_hukou_20261001.csv"
    path.write_text(_hukou_row("P1") + "\n" + _hukou_row("P2") + "\n", "utf-8")
    with pytest.raises(BatchRejected) as info:
        read_batch(CONTRACTS["police_hukou"], path)
    assert "330106198503021234" not in info.value.reason
    assert "张伟" not in info.value.reason and "学院路" not in info.value.reason
    assert "header row missing" in info.value.reason


def _health_line(n: int, **changes: object) -> str:
    obj: dict[str, object] = {
        "archive_no": f"A{n}",
        "op": "U",
        "name": "李娜",
        "gender_code": "2",
        "birth_date": "1990-01-01",
        "id_type": "01",
        "id_no": "330106199001011234",
        "guardian_id_no": None,
        "phone": None,
        "address": "学院路77号",
        "chronic": [],
        "death_date": None,
        "updated_at": "2026-10-01T08:00:00",
    }
    obj.update(changes)
    if "idno" in obj:
        obj.pop("id_no")
    return json.dumps(obj, ensure_ascii=False)


def test_a_renamed_optional_jsonl_key_rejects_the_batch(tmp_path: Path) -> None:
    """``id_no`` renamed ``idno`` on every line would silently lose every ID number."""
    contract = CONTRACTS["health_records"]
    rules = load_settings("health_records").structure.json_keys
    assert rules is not None
    path = tmp_path / "health_records_20261101.jsonl"
    n = rules.min_rows
    path.write_text(
        "".join(_health_line(i, idno="330106199001011234") + "\n" for i in range(n)), "utf-8"
    )
    with pytest.raises(BatchRejected) as exc:
        read_batch(contract, path)
    assert exc.value.reason_code == "missing_columns" and exc.value.rows_read == n
    assert path.name in exc.value.reason and "id_no" in exc.value.reason
    assert "idno" in exc.value.reason and "\n" not in exc.value.reason
    # too few lines for the batch rule: the line itself is set aside (its null would erase)
    small = json.loads(_health_line(1))
    del small["id_no"]
    path.write_text(json.dumps(small) + "\n", "utf-8")
    result = read_batch(contract, path)
    assert result.rows == [] and [p.reason_code for p in result.problems] == ["missing_keys"]


def test_an_upsert_line_without_a_declared_key_is_quarantined_a_key_only_delete_is_not(
    tmp_path: Path,
) -> None:
    """A missing key reads as null, and an update's null is the record's latest word."""
    contract = CONTRACTS["health_records"]
    path = tmp_path / "health_records_20261101.jsonl"
    update = json.loads(_health_line(1, op="U"))
    del update["phone"], update["chronic"]
    delete = {"archive_no": "HA000002", "op": "D"}  # a delete may carry only its key
    lines = [json.dumps(update, ensure_ascii=False), json.dumps(delete), _health_line(3)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    result = read_batch(contract, path)
    assert [r.row_number for r in result.rows] == [2, 3]
    (problem,) = result.problems
    assert (problem.row_number, problem.reason_code) == (1, "missing_keys")
    assert "phone, chronic" in problem.reason and problem.source_key == update["archive_no"]
    assert result.rows_received == 3


def test_an_undeclared_jsonl_key_on_most_lines_rejects_even_when_the_declared_one_appears(
    tmp_path: Path,
) -> None:
    contract = CONTRACTS["health_records"]
    path = tmp_path / "health_records_20261101.jsonl"
    lines = [_health_line(i, idno="330106199001011234") for i in range(3)] + [_health_line(9)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(BatchRejected, match=r"undeclared key\(s\) on most lines: idno"):
        read_batch(contract, path)
    # an undeclared key on a few lines is ignored (with a warning by the ingest)
    lines = [_health_line(i) for i in range(3)] + [_health_line(9, note="x")]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    assert read_batch(contract, path).extra_columns == ["note"]


def test_blank_lines_at_the_end_of_a_file_are_not_rows_in_any_format(tmp_path: Path) -> None:
    csv_path = tmp_path / "police_hukou_20261001.csv"
    body = HUKOU_HEADER + "\n" + _hukou_row("P1") + "\n\n" + _hukou_row("P2") + "\n"
    csv_path.write_text(body + "\n\n", "utf-8")
    result = read_batch(CONTRACTS["police_hukou"], csv_path)
    # the blank line between records is an empty row; the ones before EOF are not rows
    assert [(p.row_number, p.reason_code) for p in result.problems] == [(3, "empty_row")]
    assert result.rows_received == 3
    jsonl = tmp_path / "health_records_20261001.jsonl"
    jsonl.write_text(_health_line(1) + "\n\n" + _health_line(2) + "\n\n\n", "utf-8")
    result = read_batch(CONTRACTS["health_records"], jsonl)
    assert [(p.row_number, p.reason_code) for p in result.problems] == [(2, "empty_row")]
    assert result.rows_received == 3
