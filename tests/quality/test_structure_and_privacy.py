"""The pandera layer tells a bad value (kept) from a broken row (quarantined); masking."""

from __future__ import annotations

import hashlib
import re

import pandera.pandas as pa
import pytest
from siheyuan.contracts import load_contracts
from siheyuan.generate.config import world_config
from siheyuan.quality.config import check_definitions, load_settings
from siheyuan.quality.privacy import mask_text, sensitive_terms
from siheyuan.quality.structure import build_schema, check_structure
from siheyuan.readers import RawRow

CONTRACTS = load_contracts()
HUKOU = CONTRACTS["police_hukou"]


def _row(n: int, **changes: str | None) -> RawRow:
    values = dict(
        zip(
            HUKOU.column_names,
            [
                f"P{n}",
                "330106198503021234",
                "张伟",
                None,
                "1",
                "01",
                "19850302",
                "H1",
                "02",
                "学院路77号",
                "正常",
                None,
            ],
            strict=True,
        )
    )
    values.update(changes)
    return RawRow(n, values)


def test_a_bad_value_is_kept_and_a_shifted_row_is_quarantined() -> None:
    settings = load_settings("police_hukou").structure
    shifted = list(_row(4).values.values())
    shifted = shifted[:3] + shifted[4:] + [None]  # 曾用名 lost: everything after moves left
    rows = [
        _row(2, 出生日期="19850230"),  # impossible date: a bad value of a real person
        _row(3, 出生日期="1985-03-02", 注销日期="2020"),  # two bad values: still a person
        RawRow(4, dict(zip(HUKOU.column_names, shifted, strict=True))),
        _row(5),
    ]
    outcome = check_structure(HUKOU, settings, rows)
    assert [r.row_number for r in outcome.kept] == [2, 3, 5]
    (garbled,) = outcome.garbled
    # no source key: the key column of a shifted row holds whatever slid into it
    assert (garbled.row_number, garbled.reason_code, garbled.source_key) == (4, "garbled_row", None)
    assert "性别" in garbled.reason and "出生日期" in garbled.reason
    assert "19850302" not in garbled.reason and "H1" not in garbled.reason  # names, not values
    assert not outcome.check.passed and not outcome.check.blocking
    assert "出生日期: 2" in (outcome.check.detail or "")  # every misfit collected (lazy)


def test_a_repeated_bad_value_is_a_misfit_on_every_row_and_an_empty_one_on_none() -> None:
    """Each distinct value is judged once (``_by_distinct_value``); the verdict reaches each row."""
    settings = load_settings("police_hukou").structure
    rows = [_row(n, 出生日期="19850230") for n in (2, 3, 4)]
    rows += [_row(5, 出生日期=None), _row(6, 性别="X", 出生日期="19850230"), _row(7)]
    outcome = check_structure(HUKOU, settings, rows)
    assert len(outcome.kept) == 6
    assert "出生日期: 4" in (outcome.check.detail or "")
    assert "性别: 1" in (outcome.check.detail or "")


def test_every_dataset_has_a_schema_and_settings_aligned_with_its_contract() -> None:
    for dataset, contract in CONTRACTS.items():
        settings = load_settings(dataset)
        schema = build_schema(contract, settings.structure)
        assert isinstance(schema, pa.DataFrameSchema)
        assert list(schema.columns) == contract.column_names
        declared = set(contract.column_names)
        assert {d.source for d in settings.derived.values()} <= declared
        assert {d.when_column for d in settings.derived.values() if d.when_column} <= declared
        # the suite never looks at a sensitive column directly (GX keeps example values)
        for e in settings.expectations:
            assert e.kwargs["column"] not in contract.sensitive_columns, (dataset, e.check)
        names = [c.name for c in check_definitions(contract)]
        assert len(names) == len(set(names)) and names[0] == "intake"
        assert ("row_count_change" in names) == (contract.kind == "snapshot")


def test_mask_text_hides_id_numbers_and_phones_only() -> None:
    text = "33010619850302123X and 330106850302123 call +86 138-1234-5678; key 3301060000000042"
    masked = mask_text(text) or ""
    assert "330106********123X" in masked and "330106*****2123" in masked
    assert "138****5678" in masked
    assert "3301060000000042" in masked  # a 16-digit department key is not an ID number
    assert mask_text(None) is None


def test_mask_text_hides_an_id_number_followed_by_a_letter_and_landlines() -> None:
    masked = mask_text("id 330106198503021234abc; 33010619850302123Xz") or ""
    assert "330106198503021234" not in masked and "33010619850302123X" not in masked
    assert "330106********1234abc" in masked
    text = "call 0571-88888888, (010)6512 3456 or 021 1234567; file police_hukou_20261001.csv"
    masked = mask_text(text) or ""
    assert "88888888" not in masked and "6512 3456" not in masked and "1234567" not in masked
    assert "0571-****8888" in masked and "010-****3456" in masked and "021-***4567" in masked
    assert "police_hukou_20261001.csv" in masked  # a date in a file name is not a phone


HEALTH = "[健康信息]"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # ID numbers typed in groups: spaces, dashes, full-width digits, spaces and dashes
        ("accepted for 330106 1985 0302 1234 ok", "accepted for 330106********1234 ok"),
        ("330106-19850302-1234", "330106********1234"),
        ("330106 19850302 123x", "330106********123X"),
        ("３３０１０６\u3000１９８５\u3000０３０２\u3000１２３４", "330106********1234"),
        ("３３０１０６－１９８５０３０２－１２３Ｘ。", "330106********123X。"),
        ("３３０１０６１９８５０３０２１２３４", "330106********1234"),
        # 15-digit numbers of before 1999, in groups
        ("old 330106 850302 123", "old 330106*****2123"),
        ("old 330106-850302-123;", "old 330106*****2123;"),
        # a date right before the number does not hide it
        ("2026-11-01 330106 1985 0302 1234", "2026-11-01 330106********1234"),
        # groupings people type: whole region code, 4-digit chunks, a 3+3 county code
        ("330106 1990 0101 1234", "330106********1234"),
        ("330106-19900101-1234", "330106********1234"),
        ("3301 0619 9001 0112 34", "330106********1234"),
        ("330 106 1990 0101 1234", "330106********1234"),
        ("330106  19850302  1234", "330106********1234"),  # two spaces between groups
        # province 北京 and a real date: erring toward the mask is the privacy-safe direction
        ("row_count 110000 19990101 0000", "row_count 110000********0000"),
        # numbered lists ("1.", "2.", "第3.") and numbers >= 1 do not hide what follows
        (
            "原因：1.330106198503021234 户籍迁入；2.13912345678 电话",
            "原因：1.330106********1234 户籍迁入；2.139****5678 电话",
        ),
        ("见第3.330106 1985 0302 1234号", "见第3.330106********1234号"),
        ("12.330106850302123", "12.330106*****2123"),
        ("10.330106198503021234", "10.330106********1234"),
        ("ratio 1.13912345678", "ratio 1.139****5678"),
        # after "0." a run that reads as an ID number (province, birth date) is still masked
        ("0.330106198503021234", "0.330106********1234"),
        ("share 0.330106850302123", "share 0.330106*****2123"),
        # full-width mobile numbers
        ("call １３８１２３４５６７８", "call 138****5678"),
        # condition words; the longest term wins (no "2型" left behind)
        ("accepted: 高血压 patients moved", f"accepted: {HEALTH} patients moved"),
        ("2型糖尿病、慢性阻塞性肺疾病和肺结核", f"{HEALTH}、{HEALTH}和{HEALTH}"),
        ("严重精神障碍患者随访", f"{HEALTH}患者随访"),
    ],
)
def test_mask_text_masks_grouped_id_numbers_and_condition_words(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def _uuid_like_with_an_id_across_its_groups() -> str:
    return "abcdef01-3301-0619-8503-021234abcdef"  # 3301-0619-8503-021234: 18 grouped digits


def _sha256_with_a_long_digit_run() -> str:
    """A real SHA-256 holding a run of exactly 15 or 18 decimal digits (about 1 in 100 do)."""
    run = re.compile(r"(?<![0-9])(?:[0-9]{15}|[0-9]{18})(?![0-9])")
    for i in range(100_000):
        digest = hashlib.sha256(f"batch {i}".encode()).hexdigest()
        if run.search(digest):
            return digest
    raise AssertionError("no SHA-256 with a 15/18-digit run found")


@pytest.mark.parametrize(
    "text",
    [
        "5 of 28 rows quarantined (17.9%), threshold 0.1389922972",
        # shares (below 1): 15/18 places that do not read as an ID number, 11 places from 13
        "share 0.138992297212345",
        "share 0.123456789012345678 and 0.330106198513321234",  # 18 places; month 13
        "share 0.13912345678",
        "rows 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18",  # 1-digit groups: counting
        "rows 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
        "rows 118 119 120 121 122",  # 3+3 opening, but 118119 is no county code
        "rows 12001 12002 12003",  # no typed ID opens with a 5-digit group
        "extract 2026-11-01 seq 3; file police_hukou_20261001.csv",
        "rows 10 11 12 13 14 15 16 17 18",  # 18 digits in groups, no province 10
        "rows 12 13 14 15 16 17 18 19 20",  # province 12, but no birth year 1415
        "codes 330106 131415 161",  # 15 digits in groups, province 33, but no month 14
        _sha256_with_a_long_digit_run(),
        f"content {_sha256_with_a_long_digit_run()} seen",
        _uuid_like_with_an_id_across_its_groups(),
        "中风险地区; 慢性病 column chronic empty",  # no condition named
    ],
)
def test_mask_text_keeps_ordinary_numbers_and_words_readable(text: str) -> None:
    assert mask_text(text) == text


def test_every_condition_the_generator_writes_is_masked() -> None:
    label, _ = sensitive_terms()
    conditions = world_config()["health"]["chronic"]
    assert conditions and label == HEALTH
    for condition in conditions:
        assert mask_text(f"患有{condition}。") == f"患有{label}。", condition
