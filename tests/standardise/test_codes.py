"""The code-table seeds: one definition per fact, and every row has a reader."""

from __future__ import annotations

import re

from siheyuan.settings import project_root
from siheyuan.standardise.codes import id_region_codes, region_codes, seed_rows


def test_every_status_vocabulary_field_is_joined_by_a_model() -> None:
    """A vocabulary row no model reads is a second, silent source of truth (e.g. operations)."""
    sql = (project_root() / "models/intermediate/int_person_records.sql").read_text("utf-8")
    joined = set(re.findall(r"'(\w+)' as status_field", sql))
    assert joined
    assert {row["field"] for row in seed_rows("status_vocabulary")} == joined


def test_civil_relations_make_no_second_applicant() -> None:
    """Only words for the applicant themself map to 01 (户主 is a police role, not ego)."""
    egos = {r["text"] for r in seed_rows("civil_relation_to_applicant") if r["code"] == "01"}
    assert egos == {"本人", "申请人"}


def test_id_regions_are_county_level() -> None:
    ids = id_region_codes()
    assert ids <= region_codes()
    assert not any(code.endswith("0000") for code in ids)
    # a ..00 code is an ID region only where no county code lies under it (东莞 441900)
    for code in (c for c in ids if c.endswith("00")):
        assert not any(o[:4] == code[:4] and not o.endswith("00") for o in region_codes())
    assert {"441900", "330106", "330125"} <= ids and not {"330000", "330100"} & ids
