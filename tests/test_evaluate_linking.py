"""evaluate_linking scores persons, households and buildings on a hand-made truth and warehouse.

Nine truth records of five persons (P1 and P2 are twins: same household, same birth date):

    record                 person  resident   usable ID  truth building  building key
    police_hukou h1        P1      R1         yes        B1             K1
    health_records k1      P1      R1         yes        B1             K1
    health_records k2      P2      R1         no         B2             K2     <- merged into P1
    police_hukou h2        P2      R2         yes        B1             K1
    police_hukou h3        P3      R3         yes        B1             K1
    hr_insured <ID-like>   P3      R4         yes        B2 (last file) K2     <- missed
    police_floating f4     P4      R5         no         B2             -
    police_floating f5     P4      (not in the xref: quarantined)     -
    police_hukou h9        P5      R6         yes        B1             K2     (ended record)

Every expected figure below is worked out by hand in its comment.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from siheyuan.cli import main
from siheyuan.evaluate import evaluate, format_text
from siheyuan.evaluate_linking import evaluate_linking
from siheyuan.quality.privacy import mask_text

HR_KEY = "330106198005050011"  # a department keyed by ID number: must never be printed

HEADER = "dataset,source_key,file_name,person_id,true_id_number,household_truth_id,"
RECORDS = f"""{HEADER}building_truth_id,record_state
police_hukou,h1,f1.csv,P1,110101201001010011,H1,B1,active
health_records,k1,f1.csv,P1,110101201001010011,H1,B1,active
health_records,k2,f1.csv,P2,110101201001010038,H1,B2,active
police_hukou,h2,f1.csv,P2,110101201001010038,H1,B1,active
police_hukou,h3,f1.csv,P3,{HR_KEY},H1,B1,active
hr_insured,{HR_KEY},f1.csv,P3,{HR_KEY},H1,B1,active
hr_insured,{HR_KEY},f2.csv,P3,{HR_KEY},H1,B2,active
police_floating,f4,f1.csv,P4,110101199001010045,,B2,active
police_floating,f5,f1.csv,P4,110101199001010045,,,active
police_hukou,h9,f1.csv,P5,110101195001010052,H2,B1,ended
"""

PERSONS = f"""person_id,id_number,name,sex_code,birth_date,household_truth_id,relation_code
P1,110101201001010011,甲,1,2010-01-01,H1,03
P2,110101201001010038,乙,1,2010-01-01,H1,03
P3,{HR_KEY},丙,1,1980-05-05,H1,02
P4,110101199001010045,丁,2,1990-01-01,,
P5,110101195001010052,戊,1,1950-01-01,H2,02
"""

# (dataset, key, resident, id_number, building_key); f5 is absent: quarantined
WAREHOUSE_RECORDS = [
    ("police_hukou", "h1", "R1", "110101201001010011", "K1"),
    ("health_records", "k1", "R1", "110101201001010011", "K1"),
    ("health_records", "k2", "R1", None, "K2"),
    ("police_hukou", "h2", "R2", "110101201001010038", "K1"),
    ("police_hukou", "h3", "R3", HR_KEY, "K1"),
    ("hr_insured", HR_KEY, "R4", HR_KEY, "K2"),
    ("police_floating", "f4", "R5", None, None),
    ("police_hukou", "h9", "R6", "110101195001010052", "K2"),
]
# (resident, published id_number, household_id); R7 holds no evaluated record
RESIDENTS = [
    ("R1", "110101201001010011", "HA"),
    ("R2", "110101201001010038", "HA"),
    ("R3", HR_KEY, None),
    ("R4", "110101201001010099", None),  # another number than P3's: wrong
    ("R5", None, None),  # P4 has a number: missing
    ("R6", "110101195001010052", "HA"),  # ended record: outside the household measure
    ("R7", "110101196001010061", None),
]


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path]:
    truth = tmp_path / "truth" / "round_1"
    truth.mkdir(parents=True)
    (truth / "records.csv").write_text(RECORDS, encoding="utf-8")
    (truth / "persons.csv").write_text(PERSONS, encoding="utf-8")
    (truth / "dirt.csv").write_text(
        "dataset,source_key,column,dirt_kind,file_name\n", encoding="utf-8"
    )
    (truth / "buildings.csv").write_text(
        "building_truth_id,district,compound,building_no\n"
        "B1,西湖区,金都花园,1幢\nB2,西湖区,金都花园,2幢\n",
        encoding="utf-8",
    )
    wh = tmp_path / "wh"
    wh.mkdir()
    con = duckdb.connect(str(wh / "siheyuan.duckdb"))
    for schema in ("meta", "intermediate", "marts"):
        con.execute(f"create schema {schema}")
    con.execute("create table meta.batch (file_name varchar, status varchar)")
    con.execute("insert into meta.batch values ('f1.csv', 'applied'), ('f2.csv', 'applied')")
    con.execute(
        "create table intermediate.int_resident_records (source_dataset varchar, "
        "source_key varchar, resident_id varchar, id_number varchar, building_key varchar, "
        "address varchar)"
    )
    con.executemany(
        "insert into intermediate.int_resident_records values (?, ?, ?, ?, ?, null)",
        WAREHOUSE_RECORDS,
    )
    con.execute(
        "create table intermediate.int_person_records as select source_dataset, source_key, "
        "id_number as id_number_raw, id_number, "
        "case when id_number is null then 'missing' else 'valid' end as id_number_status "
        "from intermediate.int_resident_records"
    )
    con.execute("create table intermediate.int_addresses (address varchar, parse_status varchar)")
    con.execute(
        "create table marts.resident_source_xref as "
        "select source_dataset, source_key, resident_id from intermediate.int_resident_records"
    )
    con.execute(
        "create table marts.resident (resident_id varchar, id_number varchar, household_id varchar)"
    )
    con.executemany("insert into marts.resident values (?, ?, ?)", RESIDENTS)
    con.execute("create table marts.building as select 'K1' as building_key")
    con.close()
    return tmp_path / "truth", wh


def _linking(case: tuple[Path, Path]) -> dict:
    truth, wh = case
    with duckdb.connect(str(wh / "siheyuan.duckdb")) as conn:
        return evaluate_linking(truth / "round_1", conn)


def _f1(p: Fraction, r: Fraction) -> Fraction:
    return 2 * p * r / (p + r)


def test_person_pairwise_and_bcubed(case) -> None:
    persons = _linking(case)["persons"]
    # 9 records (the hr key delivered twice is one); clusters R1..R6 and f5 alone
    assert (persons["records"], persons["predicted_clusters"], persons["true_clusters"]) == (
        9,
        7,
        5,
    )
    pw = persons["pairwise"]
    # TP: h1-k1. Predicted pairs: R1's three. True pairs: one per person P1..P4.
    assert (pw["true_positive_pairs"], pw["predicted_pairs"], pw["true_pairs"]) == (1, 3, 4)
    assert (pw["false_merge_pairs"], pw["missed_pairs"]) == (2, 3)
    assert pw["precision"] == pytest.approx(1 / 3)
    assert pw["recall"] == pytest.approx(1 / 4)
    assert pw["f1"] == pytest.approx(2 / 7)
    # B-cubed precision: h1, k1 2/3 each, k2 1/3, the six others 1 -> (23/3) / 9
    # B-cubed recall: h1, k1, h9 1; k2, h2, h3, hr, f4, f5 1/2 -> 6 / 9
    bp, br = Fraction(23, 27), Fraction(2, 3)
    b = persons["bcubed"]
    assert b["precision"] == pytest.approx(float(bp))
    assert b["recall"] == pytest.approx(float(br))
    assert b["f1"] == pytest.approx(float(_f1(bp, br)))  # 92/123
    assert persons["records_not_in_xref"] == 1
    assert persons["records_not_in_xref_by_dataset"] == {"police_floating": 1}


def test_households_count_only_active_hukou_records(case) -> None:
    hh = _linking(case)["households"]
    # h1, h2 in HA; h3's resident has no household: a singleton; h9 (ended) left out
    assert hh["records"] == 3
    pw = hh["pairwise"]
    assert (pw["true_positive_pairs"], pw["predicted_pairs"], pw["true_pairs"]) == (1, 1, 3)
    assert (pw["precision"], pw["recall"], pw["f1"]) == pytest.approx((1.0, 1 / 3, 0.5))


def test_buildings_use_the_last_files_truth_and_null_keys_are_singletons(case) -> None:
    b = _linking(case)["buildings"]
    # 8 records with a true building (f5 has none). Cells: K1|B1 = h1 h2 h3 k1, K2|B2 = k2 hr,
    # K2|B1 = h9, f4 alone in B2. TP 6 + 1; predicted 6 + 3; true B1 C(5,2) + B2 C(3,2).
    assert b["records"] == 8
    pw = b["pairwise"]
    assert (pw["true_positive_pairs"], pw["predicted_pairs"], pw["true_pairs"]) == (7, 9, 13)
    assert pw["f1"] == pytest.approx(7 / 11)


def test_canonical_id_of_each_resident_with_evaluated_records(case) -> None:
    c = _linking(case)["canonical_ids"]
    # R1 (P1 holds 2 of 3) R2 R3 R6 correct; R4 another number; R5 none; R7 not evaluated
    assert (c["residents"], c["correct"], c["wrong"], c["missing"]) == (6, 4, 1, 1)
    assert c["correct_share"] == pytest.approx(4 / 6)


def test_confusion_by_kind_with_masked_examples(case) -> None:
    conf = _linking(case)["confusion"]
    fm, missed = conf["false_merges"], conf["missed"]
    assert (fm["pairs"], fm["twin_pairs"], missed["pairs"]) == (2, 2, 3)
    assert sorted(
        (tuple(k["datasets"]), tuple(k["usable_id"]), k["twins"], k["pairs"]) for k in fm["by_kind"]
    ) == [
        (("health_records", "health_records"), (False, True), True, 1),  # k2 - k1
        (("health_records", "police_hukou"), (False, True), True, 1),  # k2 - h1
    ]
    assert sorted(
        (tuple(k["datasets"]), tuple(k["usable_id"]), k["pairs"]) for k in missed["by_kind"]
    ) == [
        (("health_records", "police_hukou"), (False, True), 1),  # P2: k2 in R1, h2 in R2
        (("hr_insured", "police_hukou"), (True, True), 1),  # P3: R3 and R4
        (("police_floating", "police_floating"), (False, False), 1),  # P4: f5 not linked
    ]
    # one false-merge example (R1's first person P1 against P2), one missed pair per person
    [merge] = fm["examples"]
    assert {merge["a"]["source_key"], merge["b"]["source_key"]} == {"k1", "k2"}
    assert merge["twins"] is True
    pairs = {frozenset((e["a"]["source_key"], e["b"]["source_key"])) for e in missed["examples"]}
    masked = mask_text(HR_KEY)
    assert masked != HR_KEY
    assert pairs == {frozenset(p) for p in (("k2", "h2"), ("h3", masked), ("f4", "f5"))}
    f5 = next(s for e in missed["examples"] for s in (e["a"], e["b"]) if s["source_key"] == "f5")
    assert (f5["person_id"], f5["resident_id"], f5["usable_id"]) == ("P4", None, False)
    assert HR_KEY not in json.dumps(conf)


def test_targets_are_missed_and_the_text_says_why(case) -> None:
    truth, wh = case
    result = evaluate(truth, wh)
    assert result["linking"]["meets_targets"] is False
    assert result["meets_targets"] is False
    text = format_text(result, details=True)
    assert "persons" in text and "33.3333%" in text  # pairwise precision 1/3
    assert "False merges by kind" in text and "twins" in text
    assert HR_KEY not in text
    assert "False merges by kind" not in format_text(result)


def test_cli_writes_json_beside_the_warehouse_or_to_out(case, tmp_path: Path) -> None:
    truth, wh = case
    runner = CliRunner()
    args = ["evaluate", "--truth", str(truth), "--warehouse", str(wh)]
    text = runner.invoke(main, args)
    assert text.exit_code == 1, text.output  # the linking targets are missed
    written = wh / "reports" / "evaluate-round1.json"
    assert f"JSON: {written}" in text.stdout
    saved = json.loads(written.read_text(encoding="utf-8"))
    assert saved["linking"]["persons"]["pairwise"]["true_pairs"] == 4
    out = tmp_path / "elsewhere" / "e.json"
    as_json = runner.invoke(main, [*args, "--json", "--out", str(out)])
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) == json.loads(out.read_text(encoding="utf-8"))
    details = runner.invoke(main, [*args, "--details"])
    assert "Missed pairs by kind" in details.stdout
    assert HR_KEY not in details.stdout
