"""Survivorship per attribute: the rules in the seeds pick each published value, lineage says
where it came from, conflicts stay visible, and sensitive values are not spread.

Why: a value nobody can trace is a value nobody trusts, and a rule that silently follows load
order instead of the departments' own dates publishes stale phones and homes. Runs the real
`dbt build` on the test_models fixture with two more raw rows (below), so each rule is pinned
on a hand-written case:

- health says 张伟 died (police hukou still says 正常): death from any authoritative source;
- hr knows 刘建国 (S005, another mobile, changed 2026-09-25); health's update of him is dated
  2026-09-20 (updated_at) but comes in the later batch: the newer business date wins, not the
  later load.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import jinja2
import pytest
from siheyuan.explain import format_text, lineage
from siheyuan.quality.privacy import mask_phone
from siheyuan.standardise.id_number import mask_id_number
from test_models import ID, _q, build_fixture, make_id, run_dbt

ZHANGWEI_DEATH = "2026-10-20"
SUNWEI = make_id("330106", "19930303", "035")
# published attribute -> marts.resident column (lineage rows are per attribute)
PUBLISHED = [
    "id_number",
    "name",
    "name_pinyin",
    "former_name",
    "sex_code",
    "ethnicity_code",
    "birth_date",
    "phone_e164",
    "phone_kind",
    "registered_building_id",
    "residence_building_id",
    "residence_unit_no",
    "residence_room_no",
    "residence_source",
    "status",
    "status_date",
]
ID18 = re.compile(r"\d{17}[\dX]")
REPO_MACROS = Path(__file__).resolve().parents[2] / "macros"
E164 = re.compile(r"\+86\d{9,11}")


def _add_rows(db: Path) -> None:
    """Two health U lines in the latest health batch (see the module docstring)."""
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "insert into raw.health_records select * replace ("
            " 'U' as op, ? as death_date, '2026-10-21T10:00:00' as updated_at,"
            " 1000 as _row_number)"
            " from raw.health_records where _source_key = 'HA001'"
            " and _file_name = 'health_records_20261001.jsonl'",
            [ZHANGWEI_DEATH],
        )
        con.execute(
            "update raw.health_records set _batch_id = b._batch_id, _apply_seq = b._apply_seq,"
            " _extract_date = b._extract_date, _file_name = b._file_name"
            " from (select distinct _batch_id, _apply_seq, _extract_date, _file_name"
            "       from raw.health_records"
            "       where _file_name = 'health_records_20261101.jsonl') as b"
            " where raw.health_records._row_number = 1000"
        )
        # 刘建国: hr knows him (changed 2026-09-25, an earlier batch) with another mobile;
        # health's later batch carries an update dated 2026-09-20
        con.execute(
            "insert into raw.hr_insured select * replace ("
            " 'S005' as _source_key, 'S005' as \"个人编号\", ? as \"社会保障号码\","
            " '刘建国' as \"姓名\", '男' as \"性别\", '195007' as \"出生年月\","
            " '13700005555' as \"联系电话\", '20260925' as \"变更日期\", 1000 as _row_number)"
            " from raw.hr_insured where _source_key = 'S003'",
            [ID["liujianguo"]],
        )
        con.execute(
            "update raw.health_records set updated_at = '2026-09-20T08:00:00'"
            " where _source_key = 'HA005' and _file_name = 'health_records_20261101.jsonl'"
        )
        # 孙伟, a floating resident listed only in the first floating snapshot (he left),
        # whose insurance (S006, changed 2026-09-01) is still open
        con.execute(
            "insert into raw.police_floating select * replace ("
            " 'F007' as _source_key, 'F007' as \"登记编号\", ? as \"证件号码\","
            " '孙伟' as \"姓名\", 1000 as _row_number)"
            " from raw.police_floating where _source_key = 'F001'"
            " and _file_name = 'police_floating_20261001.csv'",
            [SUNWEI],
        )
        con.execute(
            "insert into raw.hr_insured select * replace ("
            " 'S006' as _source_key, 'S006' as \"个人编号\", ? as \"社会保障号码\","
            " '孙伟' as \"姓名\", '男' as \"性别\", '199303' as \"出生年月\","
            " '20260901' as \"变更日期\", 1001 as _row_number)"
            " from raw.hr_insured where _source_key = 'S003'",
            [SUNWEI],
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt_survivorship")
    db = tmp / "siheyuan.duckdb"
    build_fixture(db)
    _add_rows(db)
    # the models the marts need, without the data tests (tests/dbt/test_models.py runs them)
    run_dbt(
        db,
        tmp,
        "build",
        "--select",
        "+resident_attribute_lineage",
        "+resident_attribute_conflict",
        "+resident",
        "--exclude-resource-type",
        "test",
    )
    return db


def _rid(db: Path, id_number: str) -> str:
    [(rid,)] = _q(db, "select resident_id from marts.resident where id_number = ?", [id_number])
    return rid


def _lineage(db: Path, rid: str, attribute: str) -> tuple:
    rows = _q(
        db,
        "select value, source_dataset, source_key, business_date, rule, candidate_count,"
        " distinct_value_count from marts.resident_attribute_lineage"
        " where resident_id = ? and attribute = ?",
        [rid, attribute],
    )
    assert len(rows) == 1, rows
    return rows[0]


def test_trust_order_beats_recency_for_identity(warehouse: Path) -> None:
    """买买提: police floating (登记 2025) before hr (变更 2026) for the name."""
    rid = _rid(warehouse, ID["maimaiti"])
    value, ds, key, _, rule, n, distinct = _lineage(warehouse, rid, "name")
    assert (value, ds, key, rule, n, distinct) == (
        "买买提·艾力",
        "police_floating",
        "F001",
        "identity_police_first",
        2,
        2,
    )
    conflict = _q(
        warehouse,
        "select value, value_no, source_key, is_survivor from marts.resident_attribute_conflict"
        " where resident_id = ? and attribute = 'name' order by rule_rank",
        [rid],
    )
    assert conflict == [("买买提·艾力", 1, "F001", True), ("买买提艾力", 2, "S003", False)]


def test_recency_by_business_date_not_load_order(warehouse: Path) -> None:
    """Phone and residence: hr's 变更日期 2026-10-01 beats police floating's 登记日期
    2025-01-01, although the floating snapshot was loaded a month later."""
    rid = _rid(warehouse, ID["maimaiti"])
    phone, kind, room, source = _q(
        warehouse,
        "select phone_e164, phone_kind, residence_room_no, residence_source"
        " from marts.resident where resident_id = ?",
        [rid],
    )[0]
    assert (phone, kind, room, source) == ("+8613800002222", "mobile", "501", "hr_insured")
    assert _lineage(warehouse, rid, "phone_e164")[:5] == (
        None,  # the phone is not copied into lineage
        "hr_insured",
        "S003",
        date(2026, 10, 1),
        "contact_most_recent_mobile",
    )
    assert _lineage(warehouse, rid, "residence_room_no")[1:3] == ("hr_insured", "S003")
    # 刘建国: health's update is the later batch but dated 2026-09-20; hr changed 2026-09-25
    lj = _rid(warehouse, ID["liujianguo"])
    assert _q(warehouse, "select phone_e164 from marts.resident where resident_id = ?", [lj]) == [
        ("+8613700005555",)
    ]
    assert _lineage(warehouse, lj, "phone_e164")[1:4] == ("hr_insured", "S005", date(2026, 9, 25))


def test_active_records_before_ended_ones(warehouse: Path) -> None:
    """张伟's hr record ended (注销): his phone comes from his active health record."""
    rid = _rid(warehouse, ID["zhangwei"])
    assert _lineage(warehouse, rid, "phone_e164")[1:3] == ("health_records", "HA001")


def test_death_from_any_authoritative_source(warehouse: Path) -> None:
    """Health's death_date makes 张伟 deceased though his hukou still says 正常; the
    disagreement stays visible."""
    rid = _rid(warehouse, ID["zhangwei"])
    assert _q(
        warehouse, "select status, status_date from marts.resident where resident_id = ?", [rid]
    ) == [("deceased", date.fromisoformat(ZHANGWEI_DEATH))]
    assert _lineage(warehouse, rid, "status")[:5] == (
        "deceased",
        "health_records",
        "HA001",
        date.fromisoformat(ZHANGWEI_DEATH),
        "status_death_any_authoritative",
    )
    offered = _q(
        warehouse,
        "select value, source_dataset, is_survivor from marts.resident_attribute_conflict"
        " where resident_id = ? and attribute = 'status' order by rule_rank",
        [rid],
    )
    assert offered == [("deceased", "health_records", True), ("active", "police_hukou", False)]
    # police 死亡 with its 注销日期 (刘建国): the police record gives status and date
    lj = _rid(warehouse, ID["liujianguo"])
    assert _lineage(warehouse, lj, "status")[:4] == (
        "deceased",
        "police_hukou",
        "P005",
        date(2026, 10, 15),
    )


def test_a_floating_resident_whose_registration_ended_has_moved_out(warehouse: Path) -> None:
    """孙伟's 居住登记 ended (missing from the latest floating snapshot) and he has no hukou:
    he moved out, although his insurance record is still open."""
    rid = _rid(warehouse, SUNWEI)
    assert _q(
        warehouse, "select status, status_date from marts.resident where resident_id = ?", [rid]
    ) == [("moved_out", date(2026, 11, 1))]
    assert _lineage(warehouse, rid, "status")[:3] == ("moved_out", "police_floating", "F007")
    # a floating resident still registered stays active (买买提, F001)
    mm = _rid(warehouse, ID["maimaiti"])
    assert _q(warehouse, "select status from marts.resident where resident_id = ?", [mm]) == [
        ("active",)
    ]


def test_an_ended_assistance_is_not_a_status_conflict(warehouse: Path) -> None:
    """周军's ended civil family (JT004) is activity, not a department's statement."""
    rid = _rid(warehouse, ID["zhoujun"])
    assert _lineage(warehouse, rid, "status")[:3] == ("active", "police_hukou", "P007")
    assert _lineage(warehouse, rid, "status")[6] == 1
    assert not _q(
        warehouse,
        "select * from marts.resident_attribute_conflict where resident_id = ?"
        " and attribute = 'status'",
        [rid],
    )


def test_birth_date_and_sex_follow_the_valid_id(warehouse: Path) -> None:
    """赵磊's hr sex (女) contradicts his valid ID: the ID's sex is published, read from it."""
    rid = _rid(warehouse, ID["zhaolei_good"])
    rows = dict(
        _q(
            warehouse,
            "select attribute, value_origin from marts.resident_attribute_lineage"
            " where resident_id = ? and attribute in ('sex_code', 'birth_date')",
            [rid],
        )
    )
    assert rows == {"sex_code": "id_number", "birth_date": "id_number"}
    assert _lineage(warehouse, rid, "sex_code")[0] == "1"


def test_every_published_value_has_its_lineage(warehouse: Path) -> None:
    """For every resident and published attribute with a value: one lineage row, whose value
    (or, for ID and phone, whose candidate) is the published one."""
    cols = ", ".join(PUBLISHED)
    as_text = ", ".join(f"cast({c} as varchar) as {c}" for c in PUBLISHED)
    published = (
        f"(unpivot (select resident_id, {as_text} from marts.resident)"
        f" on {cols} into name attribute value value)"
    )
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        missing = con.execute(
            f"with published as {published}"
            " select p.resident_id, p.attribute from published p"
            " left join marts.resident_attribute_lineage l using (resident_id, attribute)"
            " left join intermediate.int_resident_attribute_candidates c"
            "   on c.resident_id = p.resident_id and c.attribute = p.attribute"
            "  and c.rule_rank = 1"
            " where l.resident_id is null"
            "    or coalesce(l.value, c.value) is distinct from p.value"
        ).fetchall()
        extra = con.execute(
            "select count(*) from marts.resident_attribute_lineage l"
            f" anti join {published} p using (resident_id, attribute)"
        ).fetchone()
        n = con.execute("select count(*) from marts.resident_attribute_lineage").fetchone()
    finally:
        con.close()
    assert missing == []
    assert extra == (0,)
    assert n[0] > 100


def test_sensitive_values_are_not_spread(warehouse: Path) -> None:
    """Lineage copies no ID number or phone; conflicts show them masked as the CLI does."""
    for table in ("resident_attribute_lineage", "resident_attribute_conflict"):
        text = " ".join(
            str(v) for row in _q(warehouse, f"select * from marts.{table}") for v in row
        )
        assert not ID18.search(text), table
        assert not E164.search(text), table
    phones = _q(
        warehouse,
        "select k.value, c.value from marts.resident_attribute_conflict k"
        " join intermediate.int_resident_attribute_candidates c using"
        " (resident_id, attribute, source_dataset, source_key)"
        " where k.attribute = 'phone_e164'",
    )
    assert phones
    assert all(masked == mask_phone(raw) for masked, raw in phones)


def _macro_sql(name: str) -> str:
    """A macro of macros/survivorship.sql rendered on the parameter ``$1``."""
    text = (REPO_MACROS / "survivorship.sql").read_text(encoding="utf-8")
    return jinja2.Environment().from_string(text + "{{ " + name + "('$1') }}").render().strip()


@pytest.mark.parametrize(
    ("macro", "mask", "values"),
    [
        ("mask_id_number_sql", mask_id_number, [ID["zhangwei"], ID["sunli"], "330106400215022"]),
        ("mask_phone_sql", mask_phone, ["+8613800002222", "+8657188880000", "+86571888", "12"]),
    ],
)
def test_sql_masks_agree_with_the_python_ones(macro: str, mask, values: list[str]) -> None:
    sql = f"select {_macro_sql(macro)}"
    with duckdb.connect() as con:
        for value in values:
            assert con.execute(sql, [value]).fetchone()[0] == mask(value)


def test_explain_shows_lineage_masked(warehouse: Path) -> None:
    rid = _rid(warehouse, ID["maimaiti"])
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = {a["attribute"]: a for a in lineage(con, rid)}
    finally:
        con.close()
    assert rows["name"]["dataset"] == "police_floating"
    assert rows["name"]["rule"] == "identity_police_first"
    assert [c["value"] for c in rows["name"]["conflicts"]] == ["买买提·艾力", "买买提艾力"]
    assert rows["phone_e164"]["value"] == "138****2222"
    assert rows["id_number"]["value"] == mask_id_number(ID["maimaiti"])
    text = format_text(
        {
            "resident": {
                "resident_id": rid,
                "name": "x",
                "sex_code": "1",
                "birth_date": None,
                "status": "active",
                "source_record_count": 2,
                "source_datasets": "",
            },
            "records": [],
            "decisions": [],
            "open_reviews": [],
            "lineage": list(rows.values()),
        }
    )
    assert "records disagree" in text and "identity_police_first" in text
    assert not ID18.search(text) and not E164.search(text)
