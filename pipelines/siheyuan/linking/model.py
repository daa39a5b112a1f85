"""The probabilistic person-matching model: which values are compared, at which levels, and
which candidate pairs are scored at all.

Why these comparisons: every value is compared in its standardised form (int_person_link_features)
— names by simplified characters and toneless pinyin, never by DuckDB's string distances on raw
Chinese text (they count UTF-8 bytes, not characters); birth dates at the precision the record has
(hr sends a month); ID numbers that failed their check only by edit distance or by the digits a
spreadsheet kept. The levels are ordered from most to least specific, as Splink requires; their m
and u probabilities are learned by ``siheyuan train`` and saved in ``person_model.json`` next to
this file (the trained model is versioned with the code that reads it).

Candidate pairs: only pairs where at least one record has no valid ID number are scored. Two
records with the same valid ID are linked by the deterministic tier, two with different valid IDs
may never be linked (``siheyuan.linking.cluster``); scoring them would only cost time.
"""

from __future__ import annotations

from typing import Any

#: Columns of int_person_link_features the model reads (and the unique id).
MODEL_COLUMNS = (
    "link_id",
    "id_number",
    "id_text_invalid",
    "id_head15",
    "name_normalised",
    "name_pinyin",
    "name_initials",
    "former_name",
    "sex_code",
    "birth_day",
    "birth_month",
    "phone_e164",
    "building_key",
    "unit_no",
    "room_no",
    "guardian_id_number",
    "member_ids",
)

_ID_TEXT = "coalesce(id_number_{s}, id_text_invalid_{s})"

#: A candidate pair needs at least one side without a valid ID (see module docstring).
NOT_BOTH_VALID_IDS = "(l.id_number is null or r.id_number is null)"

#: Blocking rules for prediction: each finds the pairs that agree exactly on a few keys. Together
#: they must keep recall — a person's records can differ in any one of these keys — while the
#: blocks stay small at a million persons (popular names are split by birth month or building).
PREDICTION_BLOCKING_RULES = (
    "l.name_pinyin = r.name_pinyin and l.birth_month = r.birth_month",
    "l.name_normalised = r.name_normalised and l.building_key = r.building_key",
    "l.phone_e164 = r.phone_e164 and left(l.birth_month, 4) = left(r.birth_month, 4)",
    "l.birth_day = r.birth_day and l.building_key = r.building_key",
    "l.name_initials = r.name_initials and l.birth_day = r.birth_day",
    "left(l.id_head15, 14) = left(r.id_head15, 14) and l.name_initials = r.name_initials",
)

#: Blocking rules for expectation maximisation: each leaves out the comparisons it fixes, so
#: together they estimate every comparison's m probabilities.
TRAINING_BLOCKING_RULES = (
    "l.name_normalised = r.name_normalised and l.birth_day = r.birth_day",
    "l.id_number = r.id_number",
    "l.phone_e164 = r.phone_e164 and l.building_key = r.building_key",
)


def _level(sql: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


def _null(sql: str, label: str) -> dict[str, Any]:
    return _level(sql, label, is_null_level=True)


def _else() -> dict[str, Any]:
    return _level("ELSE", "all other")


def _comparison(name: str, description: str, levels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "output_column_name": name,
        "comparison_description": description,
        "comparison_levels": levels,
    }


def comparisons() -> list[dict[str, Any]]:
    """The seven comparisons of a pair of person records, as Splink comparison dicts."""
    id_l, id_r = _ID_TEXT.format(s="l"), _ID_TEXT.format(s="r")
    return [
        _comparison(
            "id_number",
            "ID number: same text, one edit or swap apart, or the same digits a spreadsheet kept",
            [
                _null(
                    f"coalesce({id_l}, id_head15_l) is null "
                    f"or coalesce({id_r}, id_head15_r) is null",
                    "no ID number on one side",
                ),
                _level(f"{id_l} = {id_r}", "same ID text"),
                _level(f"damerau_levenshtein({id_l}, {id_r}) <= 1", "one edit or swap apart"),
                _level(
                    "abs(cast(id_head15_l as bigint) - cast(id_head15_r as bigint)) <= 1",
                    "same first 15 digits (what a spreadsheet keeps)",
                ),
                _else(),
            ],
        ),
        _comparison(
            "name",
            "Name: characters, pinyin (homophones, dots, traditional forms), former name",
            [
                _null("name_pinyin_l is null or name_pinyin_r is null", "no name"),
                {
                    **_level("name_normalised_l = name_normalised_r", "same name"),
                    "tf_adjustment_column": "name_normalised",
                    "tf_adjustment_weight": 1.0,
                },
                _level("name_pinyin_l = name_pinyin_r", "same pinyin"),
                _level(
                    "former_name_l = name_normalised_r or former_name_r = name_normalised_l",
                    "one is the other's former name",
                ),
                _level(
                    "jaro_winkler_similarity(name_pinyin_l, name_pinyin_r) >= 0.9",
                    "pinyin Jaro-Winkler >= 0.9",
                ),
                _else(),
            ],
        ),
        _comparison(
            "birth_date",
            "Birth date at the precision each record has (hr: month)",
            [
                _null("birth_month_l is null or birth_month_r is null", "no birth date"),
                _level("birth_day_l = birth_day_r", "same day"),
                _level(
                    "birth_month_l = birth_month_r "
                    "and (birth_day_l is null or birth_day_r is null)",
                    "same month, one side month only",
                ),
                _level("damerau_levenshtein(birth_day_l, birth_day_r) <= 1", "one digit apart"),
                _level("left(birth_month_l, 4) = left(birth_month_r, 4)", "same year"),
                _else(),
            ],
        ),
        _comparison(
            "sex",
            "Sex (GB/T 2261.1)",
            [
                _null("sex_code_l is null or sex_code_r is null", "no sex"),
                _level("sex_code_l = sex_code_r", "same sex"),
                _else(),
            ],
        ),
        _comparison(
            "phone",
            "Phone (E.164); family members often share one",
            [
                _null("phone_e164_l is null or phone_e164_r is null", "no phone"),
                _level("phone_e164_l = phone_e164_r", "same phone"),
                _else(),
            ],
        ),
        _comparison(
            "address",
            "Where the record says the person lives: building, unit and room",
            [
                _null("building_key_l is null or building_key_r is null", "no building"),
                _level(
                    "building_key_l = building_key_r and unit_no_l = unit_no_r "
                    "and room_no_l = room_no_r",
                    "same flat",
                ),
                _level("building_key_l = building_key_r", "same building"),
                _else(),
            ],
        ),
        _comparison(
            "guardian",
            "A minor's guardian ID among the other record's household members",
            [
                _null(
                    "not ((guardian_id_number_l is not null and member_ids_r is not null) "
                    "or (guardian_id_number_r is not null and member_ids_l is not null))",
                    "nothing to compare",
                ),
                _level(
                    "list_contains(member_ids_r, guardian_id_number_l) "
                    "or list_contains(member_ids_l, guardian_id_number_r)",
                    "guardian in the household",
                ),
                _else(),
            ],
        ),
    ]


def settings(probability_two_random_records_match: float = 1e-5) -> dict[str, Any]:
    """The untrained Splink settings (``siheyuan train`` learns their parameters)."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "link_id",
        "probability_two_random_records_match": probability_two_random_records_match,
        "comparisons": comparisons(),
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": f"({rule}) and {NOT_BOTH_VALID_IDS}"}
            for rule in PREDICTION_BLOCKING_RULES
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "em_convergence": 0.0001,
        "max_iterations": 25,
        # fixed, so a re-train on the same data writes a byte-identical model file
        "linker_uid": "siheyuan_person",
    }
