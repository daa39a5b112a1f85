"""Cross-department findings (marts.finding) and special-group tags (marts.resident_tag).

Why: a finding sends a department to stop a payment, correct a record or visit an old person
living alone, so each rule must fire on its true case and stay silent on the near miss that
looks like it (a death reported but assistance already 停保, 70+ but living with someone, a
month-precision 出生年月 that agrees). Runs the real dbt models on the test_models fixture
warehouse with a few people added to its latest batches.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pytest
from leak_scan import leaks
from siheyuan.quality.privacy import mask_text
from test_models import (
    FIXTURE_ID_KEY,
    KEYS,
    OPS,
    _contract_columns,
    _q,
    build_fixture,
    make_id,
    run_dbt,
)

AS_OF = date(2026, 11, 1)  # the fixture's newest extract date (the clock says later)
HOME = "浙江省杭州市西湖区文新街道学院路77号金都花园5幢2单元{room}室"
AWAY = "浙江省杭州市西湖区翠苑街道文二西路18号翠苑一区12栋3单元202室"

ID = {
    "zhaode": make_id("330106", "19380303", "017"),  # dead (police), assistance 在保
    "qianguiying": make_id("330106", "19400505", "026"),  # dead (police), assistance 停保
    "sunfu": make_id("330106", "19450606", "019"),  # dead (health), 正常参保
    "ligui": make_id("330106", "19460707", "011"),  # dead (health), 终止参保
    "zhouming": make_id("330106", "19750101", "017"),  # his number on a girl's health record
    "zhuhong": make_id("330106", "19600315", "028"),  # floating says born the 25th
    "qinming": make_id("330106", "19620708", "011"),  # hr 出生年月 196207: agrees
    "youli": make_id("330106", "19630101", "022"),  # hr 出生年月 196302: contradicts
    "fengxiulan": make_id("330106", "19500101", "024"),  # 76, alone in her flat
    "chenguoqiang": make_id("330106", "19480202", "013"),  # 78, lives with his wife
    "hemei": make_id("330106", "19500303", "026"),  # 76, his wife
    "jiangwei": make_id("330106", "19561102", "015"),  # alone, 70 the day after the extract
    "hanmei": make_id("330106", "19800808", "020"),  # 低保 and employed
    "yangfan": make_id("330106", "19780909", "019"),  # disability subsidy and employed
    "zhengqiang": make_id("330106", "19790303", "017"),  # 低保, unemployed
    "xuwen": make_id("330106", "19880101", "011"),  # registered here, lives in 翠苑
}


def _hukou(no, idn, name, sex, birth, hukou, room, status="正常", dereg=None, rel="02"):
    return {
        "人员编号": no,
        "公民身份号码": idn,
        "姓名": name,
        "性别": sex,
        "民族": "01",
        "出生日期": birth,
        "户号": hukou,
        "与户主关系": rel,
        "户籍地址": HOME.format(room=room),
        "人员状态": status,
        "注销日期": dereg,
    }


def _civil(fam, name, idn, sex, birth, kind, state="在保"):
    return {
        "家庭编号": fam,
        "成员序号": "1",
        "救助类型": kind,
        "姓名": name,
        "身份证号": idn,
        "性别": sex,
        "出生日期": birth,
        "与申请人关系": "本人",
        "家庭住址": "金都花园5幢2单元701室",
        "联系电话": "0571-88880000",
        "月保障金额": "1200",
        "起始年月": "202403",
        "状态": state,
    }


def _hr(no, idn, name, sex, month, status="正常参保", employment="就业", employer=None):
    return {
        "个人编号": no,
        "社会保障号码": idn,
        "姓名": name,
        "性别": sex,
        "出生年月": month,
        "民族": "汉族",
        "参保险种": "企业职工基本养老保险",
        "参保状态": status,
        "就业状态": employment,
        "单位名称": employer,
        "联系电话": "13800003333",
        "通讯地址": "学院路77号金都花园5幢2单元701室",
        "变更类型": "新增",
        "变更日期": "20261020",
    }


def _health(no, idn, name, sex, birth, death=None, addr=None):
    return {
        "archive_no": no,
        "op": "I",
        "name": name,
        "gender_code": sex,
        "birth_date": birth,
        "id_type": "01",
        "id_no": idn,
        "phone": "13800004444",
        "address": addr or "杭州市西湖区学院路77号金都花园5幢2单元701室",
        "chronic": '["糖尿病"]',
        "death_date": death,
        "updated_at": "2026-10-20T09:00:00",
    }


ADDED = {
    "police_hukou_20261101.csv": [
        _hukou("P101", ID["zhaode"], "赵德", "1", "19380303", "H101", "801", "死亡", "20261005"),
        _hukou(
            "P102", ID["qianguiying"], "钱桂英", "2", "19400505", "H102", "802", "死亡", "20261005"
        ),
        _hukou("P103", ID["zhouming"], "周明", "1", "19750101", "H103", "803"),
        _hukou("P105", ID["zhuhong"], "朱红", "2", "19600315", "H105", "805"),
        _hukou("P106", ID["qinming"], "秦明", "1", "19620708", "H106", "806"),
        _hukou("P107", ID["youli"], "尤丽", "2", "19630101", "H107", "807"),
        _hukou("P108", ID["fengxiulan"], "冯秀兰", "2", "19500101", "H108", "601"),
        _hukou("P109", ID["chenguoqiang"], "陈国强", "1", "19480202", "H109", "602"),
        _hukou("P110", ID["hemei"], "何美", "2", "19500303", "H109", "602", rel="10"),
        _hukou("P112", ID["jiangwei"], "蒋伟", "1", "19561102", "H112", "603"),
        _hukou("P111", ID["xuwen"], "许文", "1", "19880101", "H111", "604"),
    ],
    "civil_assistance_20261101.xlsx": [
        _civil("JT101", "赵德", ID["zhaode"], "男", "1938/3/3", "城乡低保"),
        _civil("JT102", "钱桂英", ID["qianguiying"], "女", "1940/5/5", "城乡低保", state="停保"),
        _civil("JT103", "韩梅", ID["hanmei"], "女", "1980/8/8", "城乡低保"),
        _civil("JT104", "杨帆", ID["yangfan"], "男", "1978/9/9", "残疾人两项补贴"),
        _civil("JT105", "郑强", ID["zhengqiang"], "男", "1979/3/3", "城乡低保"),
    ],
    "hr_insured_20261101_01.csv": [
        _hr("S101", ID["sunfu"], "孙福", "男", "194506", employment="退休"),
        _hr("S102", ID["ligui"], "李贵", "男", "194607", status="终止参保", employment="退休"),
        _hr("S104", ID["qinming"], "秦明", "男", "196207", employer="甲公司"),
        _hr("S105", ID["youli"], "尤丽", "女", "196302", employer="乙公司"),
        _hr("S106", ID["hanmei"], "韩梅", "女", "198008", employer="杭州某贸易公司"),
        _hr("S107", ID["yangfan"], "杨帆", "男", "197809", employer="丙公司"),
        _hr("S108", ID["zhengqiang"], "郑强", "男", "197903", "暂停缴费", "失业"),
    ],
    "health_records_20261101.jsonl": [
        _health("HA101", ID["sunfu"], "孙福", "1", "1945-06-06", death="2026-10-10"),
        _health("HA102", ID["ligui"], "李贵", "1", "1946-07-07", death="2026-10-10"),
        # 周明's number on a girl's record: her birth date and sex both contradict it
        _health("HA103", ID["zhouming"], "周小红", "2", "2001-02-03"),
        _health("HA104", ID["xuwen"], "许文", "1", "1988-01-01", addr=AWAY),
    ],
    "police_floating_20261101.csv": [
        {
            "登记编号": "F101",
            "证件号码": ID["zhuhong"],
            "姓名": "朱红",
            "性别": "女",
            "出生日期": "1960-03-25",
            "户籍地详址": "安徽省合肥市蜀山区某路2号",
            "现居住地址": HOME.format(room="805"),
            "居住事由": "投靠亲友",
            "联系电话": "13900005555",
            "登记日期": "2026-06-01",
        }
    ],
}


def add_rows(con: duckdb.DuckDBPyConnection, file_name: str, rows: list[dict]) -> None:
    """Append rows to an applied batch of the fixture, as ingest would have stored them."""
    batch_id, dataset, apply_seq, extract, sha = con.execute(
        "select batch_id, dataset, apply_seq, extract_date, file_sha256 from meta.batch"
        " where file_name = ?",
        [file_name],
    ).fetchone()
    columns = _contract_columns(dataset)
    (start,) = con.execute(
        f"select max(_row_number) + 1 from raw.{dataset} where _batch_id = ?", [batch_id]
    ).fetchone()
    for i, row in enumerate(rows, start=start):
        key = "-".join(row[k] for k in KEYS[dataset])
        op = None
        if dataset in OPS:
            col, deletes = OPS[dataset]
            op = "delete" if row.get(col) in deletes else "upsert"
        con.execute(
            f"insert into raw.{dataset} values ({', '.join(['?'] * (9 + len(columns)))})",
            [batch_id, apply_seq, extract, file_name, sha, i, None, key, op]
            + [row.get(c) for c in columns],
        )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt_findings")
    db = tmp / "siheyuan.duckdb"
    build_fixture(db)
    con = duckdb.connect(str(db))
    for file_name, rows in ADDED.items():
        add_rows(con, file_name, rows)
    con.close()
    # the findings, the tags and what they are built from, with the findings' own data tests
    # (tag findings); the upstream models' tests are test_models' business
    run_dbt(
        db,
        tmp,
        "build",
        "--select",
        "+finding",
        "+resident_tag",
        "tag:findings",
        "--indirect-selection",
        "empty",
    )
    return db


def _resident(db: Path, source_dataset: str, source_key: str) -> str:
    [(rid,)] = _q(
        db,
        "select resident_id from intermediate.int_resident_records"
        " where source_dataset = ? and source_key = ?",
        [source_dataset, source_key],
    )
    return rid


def _findings(db: Path, rule_id: str) -> dict[str, tuple]:
    """resident_id -> (departments_to_act, detail, evidence [(dataset, key, fact)])."""
    rows = _q(
        db,
        "select resident_id, departments_to_act, detail,"
        " [(e.source_dataset, e.source_key, e.fact) for e in evidence]"
        " from marts.finding where rule_id = ?",
        [rule_id],
    )
    return {r[0]: (r[1], r[2], sorted(tuple(e) for e in r[3])) for r in rows}


def test_dead_but_still_receiving_assistance(warehouse: Path) -> None:
    found = _findings(warehouse, "deceased_receiving_assistance")
    zhao = _resident(warehouse, "police_hukou", "P101")
    assert set(found) == {zhao}  # 钱桂英 died too, but her assistance is 停保
    departments, detail, evidence = found[zhao]
    assert departments == ["civil_affairs"]
    assert "2026-10-05" in detail and "城乡低保" in detail
    assert [(d, k) for d, k, _ in evidence] == [
        ("civil_assistance", "JT101-1"),
        ("police_hukou", "P101"),
    ]
    assert "死亡" in evidence[1][2] and "在保" in evidence[0][2]


def test_dead_but_actively_insured(warehouse: Path) -> None:
    found = _findings(warehouse, "deceased_actively_insured")
    sun = _resident(warehouse, "health_records", "HA101")
    assert set(found) == {sun}  # 李贵's insurance is 终止参保
    departments, _, evidence = found[sun]
    assert departments == ["hr"]
    assert [(d, k) for d, k, _ in evidence] == [("health_records", "HA101"), ("hr_insured", "S101")]
    assert "2026-10-10" in evidence[0][2]


def test_id_number_used_by_different_people(warehouse: Path) -> None:
    rows = _q(
        warehouse,
        "select resident_id, subject_key, departments_to_act, evidence_count from marts.finding"
        " where rule_id = 'id_number_shared' order by departments_to_act",
    )
    zhou, girl = (
        _resident(warehouse, "police_hukou", "P103"),
        _resident(warehouse, "health_records", "HA103"),
    )
    assert zhou != girl
    # one row per resident involved, grouped by one subject key; 秦明's hukou and hr records
    # carry one number and are one person: no finding
    assert [(r[0], r[2], r[3]) for r in rows] == [(girl, ["health"], 1), (zhou, ["police"], 1)]
    assert rows[0][1] == rows[1][1] and rows[0][1] not in (zhou, girl)


def test_contradictory_birth_dates(warehouse: Path) -> None:
    found = _findings(warehouse, "birth_date_conflict")
    zhu = _resident(warehouse, "police_hukou", "P105")  # day vs day
    you = _resident(warehouse, "police_hukou", "P107")  # day vs a month that is not its month
    assert set(found) == {zhu, you}  # 秦明: 出生年月 196207 agrees with 1962-07-08
    _, detail, evidence = found[zhu]
    assert "1960-03-15" in detail and "1960-03-25" in detail
    assert [(d, k) for d, k, _ in evidence] == [
        ("police_floating", "F101"),
        ("police_hukou", "P105"),
    ]
    assert "与本记录的身份证号不符" in evidence[0][2]
    assert sorted(found[you][0]) == ["hr", "police"]
    assert "1963-01-01、1963-02" in found[you][1]  # sorted: the text is stable run to run
    assert ("hr_insured", "S105", "出生年月 1963-02（与本记录的身份证号不符）") in found[you][2]


def test_elderly_living_alone(warehouse: Path) -> None:
    found = _findings(warehouse, "elderly_living_alone")
    feng = _resident(warehouse, "police_hukou", "P108")
    # 陈国强 and 何美 live together; 蒋伟 turns 70 the day after the newest extract (the clock
    # says he is 70 already); 王秀英 (86) shares her flat with her family's assistance records
    assert set(found) == {feng}
    departments, detail, evidence = found[feng]
    assert departments == ["civil_affairs", "health"]
    assert detail.startswith("76 岁")
    assert [(d, k) for d, k, _ in evidence] == [("police_hukou", "P108")]
    [(age, alone)] = _q(
        warehouse,
        "select age_years, living_alone from intermediate.int_resident_living_alone"
        " where resident_id = ?",
        [_resident(warehouse, "police_hukou", "P112")],
    )
    assert (age, alone) == (69, True)


def test_assistance_recipient_with_employer(warehouse: Path) -> None:
    found = _findings(warehouse, "assistance_recipient_employed")
    han = _resident(warehouse, "civil_assistance", "JT103-1")
    # 杨帆's disability subsidy is not means-tested; 郑强 is unemployed
    assert set(found) == {han}
    _, detail, evidence = found[han]
    assert "杭州某贸易公司" in detail
    assert [(d, k) for d, k, _ in evidence] == [
        ("civil_assistance", "JT103-1"),
        ("hr_insured", "S106"),
    ]


def test_finding_ids_are_keyed_hashes_of_rule_and_subject(warehouse: Path) -> None:
    rows = _q(
        warehouse,
        "select finding_id, rule_id, resident_id, as_of_date from marts.finding"
        " where rule_id <> 'id_number_shared'",
    )
    assert rows
    for finding_id, rule_id, resident_id, as_of in rows:
        digest = hashlib.sha256(f"{FIXTURE_ID_KEY}|{rule_id}|{resident_id}".encode()).hexdigest()
        assert finding_id == "F" + digest[:16]
        assert as_of == AS_OF


def test_no_id_number_phone_or_condition_in_clear(warehouse: Path) -> None:
    texts = [
        t
        for (t,) in _q(
            warehouse,
            "select detail from marts.finding"
            " union all select unnest(evidence).fact from marts.finding",
        )
    ]
    assert len(texts) > 10
    ids = [*ID.values()]
    for text in texts:
        assert mask_text(text) == text, text
        assert not any(i in text or i[:17] in text for i in ids)
        assert not leaks(text), text


def test_every_rule_fires_on_the_fixture(warehouse: Path) -> None:
    fired = {r for (r,) in _q(warehouse, "select distinct rule_id from marts.finding")}
    rules = {r for (r,) in _q(warehouse, "select rule_id from staging.finding_rule where enabled")}
    assert fired == rules and len(rules) == 6


def test_a_disabled_rule_finds_nothing(warehouse: Path, tmp_path: Path) -> None:
    """enabled=false in the reviewed seed removes that rule's findings and nothing else.

    Re-runs the model's compiled SQL on a copy of the warehouse (same file name, so the same
    catalog) instead of a second dbt invocation, which would re-parse the project.
    """
    db = tmp_path / warehouse.name
    db.write_bytes(warehouse.read_bytes())
    compiled = warehouse.parent / "target/compiled/siheyuan/models/marts/finding.sql"
    con = duckdb.connect(str(db))
    try:
        before = con.execute("select finding_id, rule_id from marts.finding order by 1").fetchall()
        con.execute(
            "update staging.finding_rule set enabled = false where rule_id = 'id_number_shared'"
        )
        con.execute(f"create or replace table marts.finding as {compiled.read_text()}")
        after = con.execute("select finding_id, rule_id from marts.finding order by 1").fetchall()
    finally:
        con.close()
    assert after == [r for r in before if r[1] != "id_number_shared"]
    assert len(after) < len(before)


def test_resident_tags(warehouse: Path) -> None:
    rows = _q(
        warehouse,
        "select resident_id, tag, since, source_dataset, source_key from marts.resident_tag",
    )
    tags: dict[str, dict[str, tuple]] = {}
    for rid, tag, since, dataset, key in rows:
        tags.setdefault(rid, {})[tag] = (since, dataset, key)
    feng = tags[_resident(warehouse, "police_hukou", "P108")]
    assert feng == {"elderly_living_alone": (None, "police_hukou", "P108")}
    yang = tags[_resident(warehouse, "civil_assistance", "JT104-1")]
    assert yang == {"disability_subsidy": (date(2024, 3, 1), "civil_assistance", "JT104-1")}
    assert tags[_resident(warehouse, "civil_assistance", "JT103-1")] == {
        "low_income_dibao": (date(2024, 3, 1), "civil_assistance", "JT103-1")
    }
    zhu = tags[_resident(warehouse, "police_floating", "F101")]
    assert zhu["floating_population"] == (date(2026, 6, 1), "police_floating", "F101")
    xu = tags[_resident(warehouse, "police_hukou", "P111")]
    assert xu == {"registered_elsewhere": (None, "health_records", "HA104")}
    # 王秀英 (born 1940-02-15) has been 80 since 2020-02-15
    [(wang,)] = _q(
        warehouse, "select resident_id from marts.resident where birth_date = '1940-02-15'"
    )
    assert tags[wang]["very_elderly"][0] == date(2020, 2, 15)
    # the dead and the moved out carry no tag: 赵德's assistance is a finding, not a group
    zhao = _resident(warehouse, "police_hukou", "P101")
    assert zhao not in tags
    vocab = {t for (t,) in _q(warehouse, "select tag from staging.resident_tag_vocabulary")}
    assert {t for r in tags.values() for t in r} <= vocab
