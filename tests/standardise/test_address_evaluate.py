"""evaluate_buildings counts correct, wrong and unplaced records against the truth files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from siheyuan.evaluate_address import evaluate_buildings, truth_round_dir


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path]:
    truth = tmp_path / "truth" / "round_2"
    truth.mkdir(parents=True)
    (tmp_path / "truth" / "round_1").mkdir()
    (truth / "buildings.csv").write_text(
        "building_truth_id,province,city,district,street,community,road,road_number,compound,building_no\n"
        "B00000,浙江省,杭州市,西湖区,文新街道,丰潭社区,学院路,77号,金都花园,3幢\n"
        "B00001,浙江省,杭州市,西湖区,文新街道,丰潭社区,学院路,77号,金都花园,4幢\n",
        encoding="utf-8",
    )
    (truth / "records.csv").write_text(
        "dataset,source_key,file_name,person_id,true_id_number,household_truth_id,"
        "building_truth_id,record_state\n"
        "police_hukou,1,f,P1,,H1,B00000,active\n"
        "police_hukou,2,f,P2,,H1,B00000,active\n"
        "hr_insured,1,f,P1,,,B00001,active\n"  # keyed to building 3: wrong
        "hr_insured,2,f,P2,,,B00001,active\n"  # unplaced
        "hr_insured,3,f,P3,,,B00001,active\n",  # not in the warehouse
        encoding="utf-8",
    )
    wh = tmp_path / "wh"
    wh.mkdir()
    con = duckdb.connect(str(wh / "siheyuan.duckdb"))
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_resident_records as select * from (values "
        "('police_hukou', '1', 'a3', '西湖区|金都花园|3'), "
        "('police_hukou', '2', 'b3', '西湖区|金都花园|3'), "
        "('hr_insured', '1', 'a3', '西湖区|金都花园|3'), ('hr_insured', '2', 'x', null)) "
        "as t(source_dataset, source_key, address, building_key)"
    )
    con.execute(
        "create table intermediate.int_addresses as select * from (values "
        "('a3', 'ok'), ('b3', 'ok_road_inferred'), ('x', 'no_building')) "
        "as t(address, parse_status)"
    )
    con.execute("create schema marts")
    con.execute(  # a true building, and one a mis-read address made up
        "create table marts.building as select * from (values "
        "('西湖区|金都花园|3'), ('西湖区|塘区金都花园|1')) as t(building_key)"
    )
    con.close()
    return tmp_path / "truth", wh


def test_counts_per_dataset_and_overall(case: tuple[Path, Path]) -> None:
    truth, wh = case
    r = evaluate_buildings(truth, wh)
    assert r["truth"].endswith("round_2")  # the latest round
    hukou, hr = r["by_dataset"]["police_hukou"], r["by_dataset"]["hr_insured"]
    assert (hukou["records"], hukou["correct"], hukou["wrong"], hukou["unplaced"]) == (2, 2, 0, 0)
    assert (hr["records"], hr["correct"], hr["wrong"], hr["unplaced"], hr["missing"]) == (
        3,
        0,
        1,
        2,
        1,
    )
    assert (r["records"], r["correct"], r["wrong"], r["unplaced"]) == (5, 2, 1, 2)
    assert r["correct_share"] == pytest.approx(0.4)
    assert r["unplaced_by_status"] == {"no_building": 1}
    assert (r["building_rows"], r["building_rows_not_true"], r["true_buildings"]) == (2, 1, 2)
    assert r["meets_targets"] is False


def test_truth_dir_without_rounds_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        truth_round_dir(tmp_path)
