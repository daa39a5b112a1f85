"""End-to-end check of the dbt project on a small, hand-written raw warehouse.

Why: the marts are the hub's consumer contract; these tests pin the semantics that are easy to
break silently (snapshot/delta end rules, ID canonicalisation, xref completeness) by running the
real `dbt build` against a fixture DuckDB that has the raw/meta layout ingest writes.
"""

from __future__ import annotations

import os
import subprocess
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
import yaml
from siheyuan.quality.privacy import mask_text
from siheyuan.warehouse import META_DDL, key_hash

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def check_char(body17: str) -> str:
    """GB 11643 MOD 11-2 check character of the first 17 digits."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]


def make_id(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + check_char(body)


def id_with_x(region: str, birth: str) -> str:
    """A valid ID whose check character is X (to exercise the x/Ｘ folding)."""
    for n in range(1, 999):
        cand = make_id(region, birth, f"{n:03d}")
        if cand.endswith("X"):
            return cand
    raise AssertionError("no X check digit found")


ID = {
    "zhangwei": make_id("330106", "19800512", "013"),
    "lina": make_id("330106", "19820303", "024"),
    "zhangzihan": make_id("330106", "20150901", "031"),
    "wangxiuying15": "330106400215022",
    "liujianguo": make_id("330106", "19500707", "015"),
    "chenjing": make_id("330106", "19901120", "046"),
    "maimaiti": make_id("650102", "19920404", "017"),
    "zhaolei_good": make_id("410102", "19880808", "019"),
    "sunli": id_with_x("330106", "19850606"),
    "wanglei": make_id("330106", "19700101", "011"),
    "zhoujun": make_id("330106", "19550303", "017"),  # 户主 of H004
    "xuli": make_id("330106", "19860404", "028"),  # his daughter-in-law
    "zhoupeng": make_id("330106", "19840505", "019"),  # his son, her husband
}
UNBORN = make_id("330106", "20261110", "011")
CIVIL_FAMILY = "330106202600001"
FIXTURE_ID_KEY = "fixture-secret-not-for-production"
WANGXIUYING18 = "33010619400215022"
WANGXIUYING18 += check_char(WANGXIUYING18)
# wrong check digit: same body, a different final character
_good = ID["zhaolei_good"]
ZHAOLEI_BAD = _good[:17] + ("0" if _good[17] != "0" else "1")
_cj = ID["chenjing"]
CHENJING_SWAPPED = _cj[:12] + _cj[13] + _cj[12] + _cj[14:]  # 19901120 -> 19901102
assert _cj != CHENJING_SWAPPED

A_CANON = "浙江省杭州市西湖区文新街道学院路77号金都花园3幢2单元501室"


def _contract_columns(dataset: str) -> list[str]:
    for path in (REPO / "sources").glob(f"*/{dataset}.yml"):
        return [c["name"] for c in yaml.safe_load(path.read_text(encoding="utf-8"))["columns"]]
    raise FileNotFoundError(dataset)


# (dataset, department, kind, file stem, extract date, rows)
# rows: dicts of contract column -> text; the key column(s) build _source_key.
def _batches() -> list[tuple[str, str, str, str, date, list[dict[str, str | None]]]]:
    h = lambda no, idn, name, sex, eth, birth, hukou, rel, addr, status="正常", dereg=None: {  # noqa: E731
        "人员编号": no,
        "公民身份号码": idn,
        "姓名": name,
        "曾用名": None,
        "性别": sex,
        "民族": eth,
        "出生日期": birth,
        "户号": hukou,
        "与户主关系": rel,
        "户籍地址": addr,
        "人员状态": status,
        "注销日期": dereg,
    }
    hukou_1 = [
        h("P001", ID["zhangwei"], "张伟", "1", "01", "19800512", "H001", "02", A_CANON),
        h("P002", ID["lina"], " 李娜 ", "2", "01", "19820303", "H001", "10", A_CANON),
        h("P003", ID["zhangzihan"], "张子涵", "1", "01", "20150901", "H001", "21", A_CANON),
        h(
            "P004",
            ID["wangxiuying15"],
            "王秀英",
            "2",
            "03",
            "19400215",
            "H002",
            "02",
            "西湖区文新街道学院路77号金都花园三幢1单元302室",
        ),
        h(
            "P005",
            ID["liujianguo"],
            "刘建国",
            "1",
            "01",
            "19500707",
            "H003",
            "02",
            "浙江省杭州市西湖区翠苑街道丰潭社区文二西路18号 翠苑一区 12栋3单元201室",
        ),
        h(
            "P006",
            ID["chenjing"],
            "陈静",
            "2",
            "01",
            "19901120",
            "H003",
            "30",
            "浙江省杭州市西湖区翠苑街道文二西路18号翠苑一区12栋3单元201室",
        ),
        h("P007", ID["zhoujun"], "周军", "1", "01", "19550303", "H004", "02", A_CANON),
    ]
    hukou_2 = [dict(r) for r in hukou_1 if r["人员编号"] != "P006"]  # 陈静 missing -> ended
    for r in hukou_2:
        if r["人员编号"] == "P005":
            r.update({"人员状态": "死亡", "注销日期": "20261015"})
    f = lambda no, idn, name, sex, birth, cur, phone="13900001111": {  # noqa: E731
        "登记编号": no,
        "证件号码": idn,
        "姓名": name,
        "性别": sex,
        "出生日期": birth,
        "户籍地详址": "新疆乌鲁木齐市天山区某路1号",
        "现居住地址": cur,
        "居住事由": "务工",
        "联系电话": phone,
        "登记日期": "2025-01-01",
    }
    floating = [
        f("F001", ID["maimaiti"], "买买提·艾力", "男", "1992-04-04", "金都花园3-2-502"),
        f("F002", None, "李强", "男", "1991-01-01", "文新街道学院路77号金都花园5幢1单元101室"),
        f("F003", ZHAOLEI_BAD, "赵磊", "男", "1988-08-08", "学院路77号金都花园5幢1单元102室"),
        # an impossible birth date and an invalid phone: flagged, never published
        f("F004", None, "艾力•买买提", "男", "1985-02-30", A_CANON, phone="12345"),
        # 陈静's number with two digits of the birth date swapped: suspected, not corrected
        f("F005", CHENJING_SWAPPED, "陈静", "女", "1990-11-20", A_CANON, phone="0571 8888 1234"),
        # born after the newest extract (2026-11-01): impossible in the data, whatever the clock
        f("F006", UNBORN, "刘洋", "男", "2026-11-10", A_CANON),
    ]
    c = lambda fam, no, name, idn, sex, birth, rel: {  # noqa: E731
        "家庭编号": fam,
        "成员序号": no,
        "救助类型": "城乡低保",
        "姓名": name,
        "身份证号": idn,
        "性别": sex,
        "出生日期": birth,
        "与申请人关系": rel,
        "家庭住址": "金都花园三幢1单元302室",
        "联系电话": "0571-88880000",
        "月保障金额": "1200",
        "起始年月": "202501",
        "状态": "在保",
    }
    civil = [
        c("JT001", "1", "王秀英", WANGXIUYING18, "女", "1940/2/15", "本人"),
        c("JT001", "2", "王磊", "3.30106197001011E+17", "男", "1970-01-01", "子"),
        # the applicant is the daughter-in-law; her father-in-law, written 户主, heads H004:
        # relations to her are not relations to him
        c("JT002", "1", "徐丽", ID["xuli"], "女", "1986-04-04", "本人"),
        c("JT002", "2", "周军", ID["zhoujun"], "男", "1955-03-03", "户主"),
        c("JT002", "3", "周鹏", ID["zhoupeng"], "男", "1984-05-05", "配偶"),
        # two applicant rows, one of them a householder: which one is ego is unknown
        c("JT003", "1", "周军", ID["zhoujun"], "男", "1955-03-03", "本人"),
        c("JT003", "2", "王雷", ID["wanglei"], "男", "1970-01-01", "本人"),
    ]
    # the householder applied once; his family is gone from the latest snapshot
    civil_ended = [
        c("JT004", "1", "周军", ID["zhoujun"], "男", "1955-03-03", "本人"),
        c("JT004", "2", "周鹏", ID["zhoupeng"], "男", "1984-05-05", "子"),
        # a family number that looks like an ID number (15 digits): in the latest snapshot its
        # row is quarantined (see build_fixture), so the member is carried forward, not ended
        c(CIVIL_FAMILY, "1", "钱芳", None, "女", "1960-06-06", "本人"),
    ]
    e = lambda no, op, name, idn, sex, birth, **kw: {  # noqa: E731
        "archive_no": no,
        "op": op,
        "name": name,
        "gender_code": sex,
        "birth_date": birth,
        "id_type": "01" if idn else "99",
        "id_no": idn,
        "guardian_id_no": kw.get("guardian"),
        "phone": "13800001111",
        "address": kw.get("addr", "杭州市西湖区学院路７７号金都花园3号楼2单元501室"),
        "chronic": kw.get("chronic", "[]"),
        "death_date": kw.get("death"),
        "updated_at": "2026-10-01T09:00:00",
    }
    health_1 = [
        e("HA001", "I", "张伟", ID["zhangwei"], "1", "1980-05-12"),
        e("HA002", "I", "李娜", ID["lina"], "2", "1982-03-03"),
        e("HA003", "I", "张子涵", None, "1", "2015-09-01", guardian=ID["zhangwei"]),
        e("HA005", "I", "刘建国", ID["liujianguo"], "1", "1950-07-07", chronic='["高血压"]'),
        e("HA006", "I", "赵小雨", None, "2", "2027-01-01"),  # born after the extract: future
    ]
    health_2 = [
        e("HA005", "U", "刘建国", ID["liujianguo"], "1", "1950-07-07", death="2026-10-15"),
        {"archive_no": "HA002", "op": "D"},
    ]
    r = lambda no, idn, name, sex, op, employer="杭州某科技有限公司", **kw: {  # noqa: E731
        "个人编号": no,
        "社会保障号码": idn,
        "姓名": name,
        "性别": sex,
        "出生年月": kw.get("bm"),
        "民族": kw.get("eth", "汉族"),
        "参保险种": "企业职工基本养老保险",
        "参保状态": "正常参保",
        "就业状态": "就业",
        "单位名称": employer,
        "联系电话": "+86 138-0000-2222",
        "通讯地址": "学院路77号金都花园3-2-501",
        "变更类型": op,
        "变更日期": "20261001",
    }
    sunli_fw = (
        ID["sunli"][:-1].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "ｘ"
    )
    hr_1 = [
        r("S001", ID["zhangwei"], "张伟", "男", "新增", bm="198005"),
        r("S002", sunli_fw, "孙丽", "女", "新增", bm="198506", eth="汉"),
        r("S003", ID["maimaiti"], "买买提艾力", "男", "新增", bm="199204", eth="维吾尔"),
        # sex disagrees with the (valid) ID: the record's sex is not trusted
        r("S004", ID["zhaolei_good"], "赵磊", "女", "新增", bm="198808", eth="回族"),
    ]
    hr_2a = [
        r("S002", sunli_fw, "孙丽", "女", "变更", employer="甲公司"),
        r("S002", sunli_fw, "孙丽", "女", "变更", employer="乙公司"),  # same key twice: last wins
        r("S001", ID["zhangwei"], "张伟", "男", "变更", employer="丙公司"),
    ]
    # a 注销 row carries the whole record: its own values are the latest word
    hr_2b = [r("S001", ID["zhangwei"], "张伟", "男", "注销", employer="丁公司")]
    d1, d2 = date(2026, 10, 1), date(2026, 11, 1)
    return [
        ("police_hukou", "police", "snapshot", "police_hukou_20261001", d1, hukou_1),
        ("police_floating", "police", "snapshot", "police_floating_20261001", d1, floating),
        (
            "civil_assistance",
            "civil_affairs",
            "snapshot",
            "civil_assistance_20261001",
            d1,
            civil + civil_ended,
        ),
        ("health_records", "health", "delta", "health_records_20261001", d1, health_1),
        ("hr_insured", "hr", "delta", "hr_insured_20261001", d1, hr_1),
        ("police_hukou", "police", "snapshot", "police_hukou_20261101", d2, hukou_2),
        ("police_floating", "police", "snapshot", "police_floating_20261101", d2, floating),
        ("civil_assistance", "civil_affairs", "snapshot", "civil_assistance_20261101", d2, civil),
        ("health_records", "health", "delta", "health_records_20261101", d2, health_2),
        ("hr_insured", "hr", "delta", "hr_insured_20261101_01", d2, hr_2a),
        ("hr_insured", "hr", "delta", "hr_insured_20261101_02", d2, hr_2b),
    ]


KEYS = {
    "police_hukou": ["人员编号"],
    "police_floating": ["登记编号"],
    "civil_assistance": ["家庭编号", "成员序号"],
    "health_records": ["archive_no"],
    "hr_insured": ["个人编号"],
}
OPS = {"health_records": ("op", {"D"}), "hr_insured": ("变更类型", {"注销"})}
EXT = {"police": "csv", "civil_affairs": "xlsx", "health": "jsonl", "hr": "csv"}


def build_fixture(db_path: Path) -> None:
    """Write raw.<dataset> and meta.* tables with the layout ingest produces."""
    con = duckdb.connect(str(db_path))
    con.execute("create schema if not exists raw; create schema if not exists meta")
    con.execute(
        "create table meta.batch(batch_id varchar, dataset varchar, department varchar,"
        " file_name varchar, file_sha256 varchar, extract_date date, seq int, kind varchar,"
        " apply_seq bigint, status varchar, reason varchar, rows_received bigint,"
        " rows_accepted bigint, rows_quarantined bigint, rows_duplicate bigint, run_id varchar,"
        " applied_at timestamp)"
    )
    con.execute(
        "create table meta.quarantine(batch_id varchar, dataset varchar, file_name varchar,"
        " row_number bigint, source_key varchar, reason_code varchar, reason varchar,"
        " run_id varchar, recorded_at timestamp, source_key_hash varchar)"
    )
    con.execute("create table meta.settings(name varchar, value varchar)")
    con.execute("insert into meta.settings values ('id_key', ?)", [FIXTURE_ID_KEY])
    con.execute(META_DDL)  # the rest of the bookkeeping tables (meta.link_decision, …), empty
    for dataset in KEYS:
        cols = ", ".join(f'"{c}" varchar' for c in _contract_columns(dataset))
        con.execute(
            f"create table raw.{dataset}(_batch_id varchar, _apply_seq bigint, _extract_date date,"
            f" _file_name varchar, _file_sha256 varchar, _row_number bigint,"
            f" _ingested_at timestamp, _source_key varchar, _op varchar, {cols})"
        )
    for apply_seq, (dataset, dept, kind, stem, extract, rows) in enumerate(_batches(), start=1):
        sha = f"{apply_seq:08x}" * 8
        batch_id = f"{stem}.{sha[:8]}"
        file_name = f"{stem}.{EXT[dept]}"
        seq = int(stem.rsplit("_", 1)[1]) if stem.count("_") > 2 else None
        con.execute(
            "insert into meta.batch values (?,?,?,?,?,?,?,?,?,'applied',null,?,?,0,0,'run-1',?)",
            [
                batch_id,
                dataset,
                dept,
                file_name,
                sha,
                extract,
                seq,
                kind,
                apply_seq,
                len(rows),
                len(rows),
                datetime(2026, 11, 2),
            ],
        )
        columns = _contract_columns(dataset)
        for i, row in enumerate(rows, start=2 if dept != "health" else 1):
            key = "-".join((row.get(k) or "").strip() for k in KEYS[dataset])
            op = None
            if dataset in OPS:
                col, deletes = OPS[dataset]
                op = "delete" if (row.get(col) or "").strip() in deletes else "upsert"
            values = [row.get(c) for c in columns]
            con.execute(
                f"insert into raw.{dataset} values ({', '.join(['?'] * (9 + len(columns)))})",
                [
                    batch_id,
                    apply_seq,
                    extract,
                    file_name,
                    sha,
                    i,
                    datetime(2026, 11, 2),
                    key,
                    op,
                    *values,
                ],
            )
    # the latest civil snapshot listed CIVIL_FAMILY-1 on a row the gate quarantined: stored as
    # ingest stores it (masked key, keyed hash)
    [(batch_id,)] = con.execute(
        "select batch_id from meta.batch where file_name = 'civil_assistance_20261101.xlsx'"
    ).fetchall()
    key = f"{CIVIL_FAMILY}-1"
    con.execute(
        "insert into meta.quarantine values (?, 'civil_assistance',"
        " 'civil_assistance_20261101.xlsx', 9, ?, 'missing_required', '姓名 is empty', 'run-1',"
        " ?, ?)",
        [batch_id, mask_text(key), datetime(2026, 11, 2), key_hash(FIXTURE_ID_KEY, key)],
    )
    con.close()


def run_dbt(db: Path, tmp: Path, *args: str, fails: bool = False) -> str:
    """``dbt <args>`` on the fixture warehouse; its output. Fails the test with dbt's output
    tail when dbt fails (or, with ``fails``, when it does not)."""
    env = {**os.environ, "SIHEYUAN_DUCKDB_PATH": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    proc = subprocess.run(
        [
            "dbt",
            *args,
            "--project-dir",
            str(REPO),
            "--profiles-dir",
            str(REPO),
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (proc.returncode != 0) is fails, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt")
    db = tmp / "siheyuan.duckdb"
    build_fixture(db)
    run_dbt(db, tmp, "build")
    return db


def _q(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_snapshot_missing_key_ends(warehouse: Path) -> None:
    rows = _q(
        warehouse,
        "select record_status, end_reason, last_batch_id from marts.resident_source_xref"
        " where source_dataset = 'police_hukou' and source_key = 'P006'",
    )
    assert rows == [("ended", "missing_from_snapshot", rows[0][2])]
    assert rows[0][2].startswith("police_hukou_20261001.")
    active = _q(
        warehouse,
        "select count(*) from marts.resident_source_xref"
        " where source_dataset = 'police_hukou' and record_status = 'active'",
    )
    assert active == [(6,)]
    # the moved-out person is no longer counted as active
    st = _q(warehouse, "select status from marts.resident where id_number = ?", [ID["chenjing"]])
    assert st == [("moved_out",)]


def test_delta_delete_ends_and_last_row_wins(warehouse: Path) -> None:
    rows = _q(
        warehouse,
        "select source_key, record_status, end_reason, last_file_name"
        " from marts.resident_source_xref where source_dataset = 'hr_insured' order by 1",
    )
    assert rows[0] == ("S001", "ended", "deleted_in_source", "hr_insured_20261101_02.csv")
    assert rows[1][:3] == ("S002", "active", None)
    emp = _q(
        warehouse,
        "select employer from intermediate.int_hr__insured_current where source_key = 'S002'",
    )
    assert emp == [("乙公司",)]
    ended = _q(
        warehouse,
        "select employer from intermediate.int_hr__insured_current where source_key = 'S001'",
    )
    assert ended == [("丁公司",)]  # the delete row's own value, not the earlier 丙公司
    h = _q(
        warehouse,
        "select record_status, end_reason, name from intermediate.int_health__records_current"
        " where source_key = 'HA002'",
    )
    # a key-only D line: values from the last upsert
    assert h == [("ended", "deleted_in_source", "李娜")]


def test_id_15_converted_to_18(warehouse: Path) -> None:
    rows = _q(
        warehouse,
        "select id_number_status, id_number from intermediate.int_person_records"
        " where source_dataset = 'police_hukou' and source_key = 'P004'",
    )
    assert rows == [("converted_15", WANGXIUYING18)]
    # the civil-assistance record with the 18-digit form joins the same resident
    res = _q(
        warehouse,
        "select source_record_count, birth_date from marts.resident where id_number = ?",
        [WANGXIUYING18],
    )
    assert res == [(2, date(1940, 2, 15))]


def test_bad_check_digit_rejected(warehouse: Path) -> None:
    rows = _q(
        warehouse,
        "select id_number_status, id_number from intermediate.int_person_records"
        " where source_dataset = 'police_floating' and source_key = 'F003'",
    )
    assert rows == [("bad_check_digit", None)]
    x = _q(
        warehouse,
        "select x.link_rule, r.id_number from marts.resident_source_xref x"
        " join marts.resident r using (resident_id) where x.source_key = 'F003'",
    )
    assert x == [("singleton", None)]
    # full-width digits and a lower-case ｘ fold to a valid number
    s = _q(
        warehouse,
        "select id_number_status, id_number from intermediate.int_person_records"
        " where source_key = 'S002'",
    )
    assert s == [("valid", ID["sunli"])]
    # the Excel-mangled number is never guessed
    m = _q(
        warehouse,
        "select id_number_status, id_number from intermediate.int_person_records"
        " where source_dataset = 'civil_assistance' and source_key = 'JT001-2'",
    )
    assert m == [("excel_mangled", None)]


def test_xref_covers_every_record_once(warehouse: Path) -> None:
    raw_keys = _q(
        warehouse,
        " union all ".join(f"select '{d}', count(distinct _source_key) from raw.{d}" for d in KEYS),
    )
    xref = dict(
        _q(warehouse, "select source_dataset, count(*) from marts.resident_source_xref group by 1")
    )
    assert {d: n for d, n in raw_keys} == xref
    dup = _q(
        warehouse,
        "select count(*) from (select source_dataset, source_key from"
        " marts.resident_source_xref group by all having count(*) > 1)",
    )
    assert dup == [(0,)]
    orphan = _q(
        warehouse,
        "select count(*) from marts.resident_source_xref x"
        " anti join marts.resident r using (resident_id)",
    )
    assert orphan == [(0,)]


def test_people_households_buildings(warehouse: Path) -> None:
    zw = _q(
        warehouse,
        "select resident_id, status, household_id, building_id, source_record_count"
        " from marts.resident where id_number = ?",
        [ID["zhangwei"]],
    )
    assert len(zw) == 1 and zw[0][1] == "active" and zw[0][4] == 3
    hh = _q(
        warehouse,
        "select hukou_number, head_resident_id, member_count, building_id"
        " from marts.household where household_id = ?",
        [zw[0][2]],
    )
    assert hh == [("H001", zw[0][0], 3, zw[0][3])]
    dead = _q(
        warehouse,
        "select status, status_date from marts.resident where id_number = ?",
        [ID["liujianguo"]],
    )
    assert dead == [("deceased", date(2026, 10, 15))]
    # 金都花园3幢 written four ways (canonical, 3号楼 + full-width, 3-2-501, no road): one building
    b = _q(
        warehouse,
        "select building_key, road, road_number from marts.building"
        " where compound = '金都花园' and building_no = '3'",
    )
    assert b == [("西湖区|金都花园|3", "学院路", "77")]
    ids = _q(warehouse, "select resident_id from marts.resident")
    assert all(len(i) == 17 and i.startswith("R") for (i,) in ids)


def _record(db: Path, key: str, columns: str) -> tuple:
    rows = _q(
        db, f"select {columns} from intermediate.int_person_records where source_key = ?", [key]
    )
    assert len(rows) == 1, rows
    return rows[0]


def test_an_id_born_after_the_newest_extract_is_impossible_on_any_day(warehouse: Path) -> None:
    """Judged against the data's newest extract date, not the clock of the day dbt runs."""
    assert _record(warehouse, "F006", "id_number_status, id_number") == ("bad_birth_date", None)


def test_a_quarantined_row_with_an_id_like_key_keeps_its_record_active(warehouse: Path) -> None:
    """The stored key is masked (330106*****0001-1); the join uses the keyed hash instead."""
    key = f"{CIVIL_FAMILY}-1"
    stored = _q(
        warehouse, "select source_key from meta.quarantine where dataset = 'civil_assistance'"
    )
    assert stored != [(key,)]  # masked: the plain key cannot be joined on
    rows = _q(
        warehouse,
        "select record_status, carried_forward from marts.resident_source_xref"
        " where source_dataset = 'civil_assistance' and source_key = ?",
        [key],
    )
    assert rows == [("active", True)]


def test_transposition_suspected_is_not_corrected(warehouse: Path) -> None:
    assert _record(warehouse, "F005", "id_number_status, id_number") == (
        "transposition_suspected",
        None,
    )
    x = _q(
        warehouse,
        "select link_rule from marts.resident_source_xref where source_key = 'F005'",
    )
    # never linked on a corrected number; entity resolution may still link it on its values
    assert x in ([("singleton",)], [("probabilistic",)])


def test_dates_standardised_and_checked(warehouse: Path) -> None:
    # every declared form read; the hr month keeps its month precision
    assert _record(warehouse, "JT001-1", "birth_date, birth_date_status") == (
        date(1940, 2, 15),
        "valid",
    )
    assert _record(warehouse, "S003", "birth_date, birth_month, birth_date_precision") == (
        None,
        date(1992, 4, 1),
        "month",
    )
    assert _record(warehouse, "F004", "birth_date, birth_date_status, birth_date_raw") == (
        None,
        "impossible",
        "1985-02-30",
    )
    assert _record(warehouse, "HA006", "birth_date, birth_date_status") == (None, "future")
    # neither reaches the resident
    res = _q(
        warehouse,
        "select r.birth_date from marts.resident r join marts.resident_source_xref x"
        " using (resident_id) where x.source_key in ('F004', 'HA006')",
    )
    assert res == [(None,), (None,)]


def test_sex_cross_checked_against_the_id(warehouse: Path) -> None:
    assert _record(warehouse, "S004", "sex_raw, sex_code, sex_agrees_with_id") == (
        "女",
        None,
        False,
    )
    res = _q(
        warehouse, "select sex_code from marts.resident where id_number = ?", [ID["zhaolei_good"]]
    )
    assert res == [("1",)]


def test_phones_to_e164(warehouse: Path) -> None:
    assert _record(warehouse, "S001", "phone_e164, phone_kind") == ("+8613800002222", "mobile")
    assert _record(warehouse, "JT001-1", "phone_e164, phone_kind") == ("+8657188880000", "landline")
    assert _record(warehouse, "F005", "phone_e164, phone_kind") == ("+8657188881234", "landline")
    assert _record(warehouse, "F004", "phone_e164, phone_status") == (None, "invalid")
    res = _q(
        warehouse,
        "select phone_e164, phone_kind from marts.resident where id_number = ?",
        [WANGXIUYING18],
    )
    assert res == [("+8657188880000", "landline")]


def test_names_keys_and_display(warehouse: Path) -> None:
    dotted = _record(warehouse, "F001", "name, name_normalised, name_pinyin")
    undotted = _record(warehouse, "S003", "name, name_normalised, name_pinyin")
    assert dotted[0] == "买买提·艾力" and undotted[0] == "买买提艾力"  # display as given
    assert dotted[2] == undotted[2] == "mai mai ti ai li"
    assert _record(warehouse, "F004", "name, name_normalised") == ("艾力•买买提", "艾力·买买提")
    assert _record(warehouse, "P002", "name") == ("李娜",)  # trimmed


def test_codes_and_relations(warehouse: Path) -> None:
    # hr delivers ethnicity names with and without 族
    assert _record(warehouse, "S003", "ethnicity_code") == ("05",)
    assert _record(warehouse, "S004", "ethnicity_code") == ("03",)
    assert _record(warehouse, "F001", "sex_code") == ("1",)  # 男 -> 1
    # 王秀英 applied for assistance and is 户主 of H002 (her 15-digit police ID converts to the
    # 18-digit civil one): her family's relations to her are relations to the householder
    assert _record(warehouse, "JT001-1", "relation_to_applicant_code, relation_code") == (
        "01",
        "02",
    )
    assert _record(warehouse, "JT001-2", "relation_to_applicant_code, relation_code") == (
        "20",
        "20",
    )
    assert _record(warehouse, "P005", "person_status, source_status") == ("deceased", "deceased")
    assert _record(warehouse, "S001", "source_status") == ("active",)


@pytest.mark.parametrize(
    ("key", "to_applicant"),
    [
        # applicant not the householder (her father-in-law, written 户主, is police 02)
        ("JT002-1", "01"),
        ("JT002-2", None),  # 户主 is a police role, not a kinship to the applicant
        ("JT002-3", "10"),  # her husband: 配偶 to her, 子 (20) to the householder
        # two 本人 rows in one family, one of them a householder
        ("JT003-1", "01"),
        ("JT003-2", "01"),
        # the householder was the applicant, but the family left the latest snapshot
        ("JT004-1", "01"),
        ("JT004-2", "20"),
    ],
)
def test_civil_relations_are_not_invented(warehouse: Path, key: str, to_applicant: str) -> None:
    """Only a family's single active applicant who heads a hukou makes relations to the head."""
    assert _record(warehouse, key, "relation_to_applicant_code, relation_code") == (
        to_applicant,
        None,
    )


def test_xref_carries_statuses_not_raw_values(warehouse: Path) -> None:
    rows = dict(
        _q(
            warehouse,
            "select source_key, id_number_status from marts.resident_source_xref"
            " where source_key in ('F003', 'F005', 'JT001-2', 'P004')",
        )
    )
    assert rows == {
        "F003": "bad_check_digit",
        "F005": "transposition_suspected",
        "JT001-2": "excel_mangled",
        "P004": "converted_15",
    }
    cols = {
        c
        for (c,) in _q(
            warehouse,
            "select column_name from information_schema.columns where table_schema = 'marts'",
        )
    }
    assert not {"id_number_raw", "phone_raw", "birth_date_raw"} & cols


def test_standardisation_tables_are_incremental(warehouse: Path) -> None:
    """A second build standardises only missing or stale values and ends with the same rows.

    int_addresses, placed from the cached address parts, comes out the same as well.
    """
    tables = [
        "int_std__id_numbers",
        "int_std__names",
        "int_std__phones",
        "int_std__dates",
        "int_std__addresses",
        "int_addresses",
    ]

    def snapshot() -> dict[str, list[tuple]]:
        return {
            t: sorted(_q(warehouse, f"select * from intermediate.{t}"), key=repr) for t in tables
        }

    before = snapshot()
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("delete from intermediate.int_std__names where name_raw = '张伟'")
        con.execute("update intermediate.int_std__phones set std_version = 'old-rules'")
        con.execute("update intermediate.int_std__phones set phone_e164 = 'stale'")
        # one address text never parsed, every other one parsed by other rules with other parts
        con.execute(
            "delete from intermediate.int_std__addresses"
            " where address_raw = (select min(address_raw) from intermediate.int_std__addresses)"
        )
        con.execute(
            "update intermediate.int_std__addresses set std_version = 'old-rules', compound = 'x'"
            " where address_raw > (select min(address_raw) from intermediate.int_std__addresses)"
        )
    finally:
        con.close()
    run_dbt(warehouse, warehouse.parent, "run", "--select", *tables)
    assert snapshot() == before
