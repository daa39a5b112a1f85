"""The Splink model: its settings, the committed trained file, and how it scores real shapes of
pairs (a child without ID beside its twin, an Excel-mangled ID, a namesake)."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from siheyuan.linking.config import linking_settings
from siheyuan.linking.model import (
    MODEL_COLUMNS,
    NOT_BOTH_VALID_IDS,
    PREDICTION_BLOCKING_RULES,
    comparisons,
    settings,
)
from siheyuan.linking.predict import MODEL_PATH, load_model, score_pairs

MOTHER = "330106199001012345"
TWIN_A = "330106202105010011"
TWIN_B = "330106202105010038"
NAMESAKE = "330106199003037777"


def test_every_prediction_rule_skips_pairs_of_two_valid_ids():
    rules = [r["blocking_rule"] for r in settings()["blocking_rules_to_generate_predictions"]]
    assert len(rules) == len(PREDICTION_BLOCKING_RULES)
    assert all(rule.endswith(f"and {NOT_BOTH_VALID_IDS}") for rule in rules)


def test_no_string_distance_is_taken_on_chinese_text():
    # DuckDB's edit distances count UTF-8 bytes: only pinyin, digits and dates may use them
    chinese = ("name_normalised", "former_name", "building_key")
    for comp in comparisons():
        for level in comp["comparison_levels"]:
            sql = level["sql_condition"]
            for fn in re.findall(r"(\w*(?:levenshtein|jaro)\w*)\(([^)]*)\)", sql):
                assert not any(col in fn[1] for col in chinese), (comp["output_column_name"], sql)


def test_the_committed_model_is_trained_and_matches_the_code():
    model = load_model()
    assert model["linker_uid"] == "siheyuan_person"
    assert 0 < model["probability_two_random_records_match"] < 1e-3
    in_code = {c["output_column_name"]: c for c in comparisons()}
    assert [c["output_column_name"] for c in model["comparisons"]] == list(in_code)
    for comp in model["comparisons"]:
        code_levels = in_code[comp["output_column_name"]]["comparison_levels"]
        assert [lv["sql_condition"] for lv in comp["comparison_levels"]] == [
            lv["sql_condition"] for lv in code_levels
        ], f"{MODEL_PATH.name} is stale for {comp['output_column_name']}: run siheyuan train"
        for level in comp["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            assert 0 < level["m_probability"] <= 1 and 0 < level["u_probability"] <= 1
    # the floors of linking.yml hold in the committed file
    floors = linking_settings().m_floor
    for comp in model["comparisons"]:
        for level in comp["comparison_levels"]:
            key = f"{comp['output_column_name']}/{level['label_for_charts']}"
            if key in floors:
                assert level["m_probability"] >= floors[key] * 0.99


def _record(link_id: int, **values) -> dict:
    row = dict.fromkeys(MODEL_COLUMNS)
    row.update(link_id=link_id, **values)
    return row


def _features(rows: list[dict]) -> pa.Table:
    schema = pa.schema(
        [("link_id", pa.int64()), ("member_ids", pa.list_(pa.string()))]
        + [(c, pa.string()) for c in MODEL_COLUMNS if c not in ("link_id", "member_ids")]
    )
    return pa.Table.from_pylist(rows, schema=schema)


FLAT = {"building_key": "西湖区|金都花园|3", "unit_no": "2", "room_no": "501"}
FAMILY = [MOTHER, TWIN_A, TWIN_B]


@pytest.fixture(scope="module")
def scored() -> dict[tuple[int, int], float]:
    rows = [
        # police hukou: the twins, registered with ID numbers in their mother's 户
        _record(
            1,
            id_number=TWIN_A,
            id_head15=TWIN_A[:15],
            name_normalised="张子涵",
            name_pinyin="zhang zi han",
            name_initials="zzh",
            sex_code="1",
            birth_day="20210501",
            birth_month="202105",
            member_ids=FAMILY,
            **FLAT,
        ),
        _record(
            2,
            id_number=TWIN_B,
            id_head15=TWIN_B[:15],
            name_normalised="张子晗",
            name_pinyin="zhang zi han",
            name_initials="zzh",
            sex_code="1",
            birth_day="20210501",
            birth_month="202105",
            member_ids=FAMILY,
            **FLAT,
        ),
        # health: twin A's archive, no ID of its own, the mother as guardian
        _record(
            3,
            name_normalised="张子涵",
            name_pinyin="zhang zi han",
            name_initials="zzh",
            sex_code="1",
            birth_day="20210501",
            birth_month="202105",
            phone_e164="+8613800001111",
            guardian_id_number=MOTHER,
            **FLAT,
        ),
        # civil affairs: the mother, her ID typed as a number in Excel (15 digits kept)
        _record(
            4,
            id_head15=MOTHER[:15],
            name_normalised="李娜",
            name_pinyin="li na",
            name_initials="ln",
            sex_code="2",
            birth_day="19900101",
            birth_month="199001",
            **FLAT,
        ),
        _record(
            5,
            id_number=MOTHER,
            id_head15=MOTHER[:15],
            name_normalised="李娜",
            name_pinyin="li na",
            name_initials="ln",
            sex_code="2",
            birth_day="19900101",
            birth_month="199001",
            phone_e164="+8613800001111",
            member_ids=FAMILY,
            **FLAT,
        ),
        # a namesake of the mother born the same month, elsewhere, without an ID
        _record(
            6,
            name_normalised="李娜",
            name_pinyin="li na",
            name_initials="ln",
            sex_code="2",
            birth_day="19900115",
            birth_month="199001",
            phone_e164="+8613900002222",
            building_key="西湖区|翠苑一区|12",
            unit_no="1",
            room_no="101",
        ),
        _record(
            7,
            id_number=NAMESAKE,
            id_head15=NAMESAKE[:15],
            name_normalised="李娜",
            name_pinyin="li na",
            name_initials="ln",
            sex_code="2",
            birth_day="19900303",
            birth_month="199003",
            **FLAT,
        ),
    ]
    # people with other names: a name's frequency (Splink's term-frequency adjustment of an
    # exact name match) as in a district, not 2 of 7 records
    rows += [
        _record(
            100 + i, name_normalised=f"路人{i}", name_pinyin=f"lu ren {i}", name_initials=f"lr{i}"
        )
        for i in range(20_000)
    ]
    table = score_pairs(_features(rows), load_model(), floor_weight=-100.0)
    d = table.to_pydict()
    return {
        (a, b): w for a, b, w in zip(d["link_id_l"], d["link_id_r"], d["match_weight"], strict=True)
    }


def test_a_child_without_id_links_to_its_own_twin_by_name_and_guardian(scored):
    auto = linking_settings().auto_link_weight
    assert scored[(1, 3)] >= auto
    # the other twin: same pinyin, same birth date, same flat, same guardian; the exact name is
    # what tells them apart, by more than the ambiguity margin
    assert scored[(1, 3)] - scored[(2, 3)] >= linking_settings().ambiguity_margin


def test_an_excel_mangled_id_links_on_the_digits_it_kept(scored):
    assert scored[(4, 5)] >= linking_settings().auto_link_weight


def test_a_namesake_born_the_same_month_elsewhere_is_not_linked(scored):
    assert scored.get((5, 6), float("-inf")) < linking_settings().review_weight


def test_two_records_with_valid_ids_are_never_scored(scored):
    assert (1, 2) not in scored and (5, 7) not in scored and (1, 5) not in scored
