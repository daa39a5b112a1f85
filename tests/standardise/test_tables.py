"""The Arrow tables the dbt Python models return: one row per distinct raw value, typed columns."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from siheyuan.standardise.id_number import check_char
from siheyuan.standardise.tables import date_table, id_number_table, name_table, phone_table


def _valid_id() -> str:
    body = "33010619850302124"
    return body + check_char(body)


def test_id_number_table_dedupes_and_keeps_types() -> None:
    good = _valid_id()
    t = id_number_table([good, good, " " + good, None, "4.10102E+17"], today=date(2026, 1, 1))
    rows = t.to_pylist()
    assert [r["id_number_raw"] for r in rows] == [good, " " + good, "4.10102E+17"]
    assert [r["id_number"] for r in rows] == [good, good, None]
    assert [r["id_number_status"] for r in rows] == ["valid", "valid", "excel_mangled"]


def test_empty_inputs_give_typed_empty_tables() -> None:
    for table in (id_number_table([]), name_table([]), phone_table([]), date_table([])):
        assert table.num_rows == 0
        assert all(f.type != pa.null() for f in table.schema)


def test_date_table_keys_on_text_and_spreadsheet() -> None:
    t = date_table([("31108", True), ("31108", False), ("19850302", False)])
    rows = {(r["date_raw"], r["from_spreadsheet"]): r for r in t.to_pylist()}
    assert rows[("31108", True)]["date_value"] == date(1985, 3, 2)
    assert rows[("31108", False)]["date_status"] == "unparsed"
    assert t.schema.field("date_value").type == pa.date32()


def test_name_and_phone_tables() -> None:
    names = name_table(["張偉", "张 伟"]).to_pylist()
    assert {r["name_normalised"] for r in names} == {"张伟"}
    phones = phone_table(["138-1234-5678", "12345"]).to_pylist()
    assert [r["phone_e164"] for r in phones] == ["+8613812345678", None]
