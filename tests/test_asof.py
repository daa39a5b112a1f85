"""As-of queries on the history: the row valid on a date, at the edges of its interval."""

from __future__ import annotations

import datetime
import json

import duckdb
import pytest
from click.testing import CliRunner
from history_fixtures import publish, resident
from siheyuan.asof import query
from siheyuan.cli import main

D1 = datetime.date(2026, 10, 1)
D2 = datetime.date(2026, 11, 1)
ID = "33010619900101123X"
PHONE = "+8613812345678"


def _three_versions(conn: duckdb.DuckDBPyConnection) -> None:
    """R1 lives in B1 from D1 and moves to B2 on D2; R2 stays in B1 and dies on D2;
    R3 arrives in B1 on D2; on D2 a second version renames R3 (same business date)."""
    publish(conn, 1, D1, [resident("R1"), resident("R2", phone_e164="+8613900001111")])
    publish(
        conn,
        2,
        D2,
        [
            resident("R1", building_id="B2"),
            resident("R2", status="deceased", status_date=datetime.date(2026, 10, 20)),
            resident("R3", name="王芳", id_number=None),
        ],
    )
    publish(
        conn,
        3,
        D2,
        [
            resident("R1", building_id="B2"),
            resident("R2", status="deceased", status_date=datetime.date(2026, 10, 20)),
            resident("R3", name="王方", id_number=None),
        ],
    )


@pytest.fixture
def conn():
    c = duckdb.connect()
    _three_versions(c)
    yield c
    c.close()


def _who(conn, building: str, day: datetime.date) -> list[str]:
    found = query(conn, day, building_id=building)["building"]["residents"]
    return [r["resident_id"] for r in found]


def test_who_lived_in_a_building_at_the_edges_of_the_intervals(conn):
    assert _who(conn, "B1", D1 - datetime.timedelta(days=1)) == []  # before the first version
    assert _who(conn, "B1", D1) == ["R1", "R2"]  # valid_from is inclusive
    assert _who(conn, "B1", D2 - datetime.timedelta(days=1)) == ["R1", "R2"]
    assert _who(conn, "B1", D2) == ["R3"]  # valid_to is exclusive; R2 died, R1 moved
    assert _who(conn, "B2", D2) == ["R1"]
    assert _who(conn, "B2", D2 - datetime.timedelta(days=1)) == []


def test_a_date_shared_by_two_versions_answers_with_the_later_one(conn):
    r3 = query(conn, D2, resident_id="R3")["resident"]["resident"]
    assert r3["name"] == "王方" and r3["valid_from_version"] == 3


def test_a_resident_before_it_was_published_and_after_it_was_merged(conn):
    before = query(conn, D1, resident_id="R3")["resident"]
    assert before["resident"] is None and "first published on 2026-11-01" in before["note"]
    publish(
        conn,
        4,
        datetime.date(2026, 12, 1),
        [resident("R1", building_id="B2")],
        events=[
            {
                "old_resident_id": "R3",
                "new_resident_id": "R1",
                "event": "merged",
                "record_count": 1,
                "reason": "x",
            }
        ],
    )
    after = query(conn, datetime.date(2026, 12, 5), resident_id="R3")["resident"]
    assert after["note"] == "R3 was merged into R1 in version 4 (2026-12-01)"
    assert query(conn, D2, resident_id="R3")["resident"]["resident"]["name"] == "王方"


def test_a_household_and_its_members_as_they_were(conn):
    on_d1 = query(conn, D1, household_id="H1")["household"]
    assert on_d1["household"]["head_resident_id"] == "R1"
    assert (on_d1["household"]["valid_from"], on_d1["household"]["valid_to"]) == (
        "2026-10-01",
        "2026-11-01",  # member_count went from 2 to 3 in version 2
    )
    assert [m["resident_id"] for m in on_d1["members"]] == ["R1", "R2"]
    assert {m["status"] for m in on_d1["members"]} == {"active"}
    on_d2 = query(conn, D2, household_id="H1")["household"]
    statuses = {m["resident_id"]: m["status"] for m in on_d2["members"]}
    assert statuses == {"R1": "active", "R2": "deceased", "R3": "active"}


@pytest.fixture
def warehouse(tmp_path):
    root = tmp_path / "warehouse"
    root.mkdir()
    c = duckdb.connect(str(root / "siheyuan.duckdb"))
    _three_versions(c)
    c.close()
    return root


def test_cli_masks_id_numbers_and_phones(warehouse):
    result = CliRunner().invoke(
        main, ["asof", "2026-10-15", "--building", "B1", "--warehouse", str(warehouse)]
    )
    assert result.exit_code == 0, result.output
    assert "R1" in result.output and "R2" in result.output and "R3" not in result.output
    assert ID not in result.output and PHONE not in result.output
    assert "138****5678" in result.output
    # the birth date is printed: the ID keeps its region only (6+4 would give the number away)
    assert ID[:6] + "*" * 12 in result.output and ID[-4:] not in result.output
    assert "[2026-10-01, 2026-11-01) v1-v2" in result.output


def test_cli_json_answers_all_three_questions(warehouse):
    result = CliRunner().invoke(
        main,
        [
            "asof",
            "2026-11-01",
            "--building",
            "B2",
            "--resident",
            "R2",
            "--household",
            "H1",
            "--warehouse",
            str(warehouse),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [r["resident_id"] for r in data["building"]["residents"]] == ["R1"]
    assert data["resident"]["resident"]["status"] == "deceased"
    assert len(data["household"]["members"]) == 3
    assert data["history"] == {
        "first_date": "2026-10-01",
        "last_date": "2026-11-01",
        "last_version": 3,
    }
    assert ID not in result.output and PHONE not in result.output
    assert data["resident"]["resident"]["id_number"] != ID


def test_cli_needs_a_question_and_a_history(tmp_path, warehouse):
    runner = CliRunner()
    asked_nothing = runner.invoke(main, ["asof", "2026-10-15", "--warehouse", str(warehouse)])
    assert asked_nothing.exit_code == 2 and "--building" in asked_nothing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    duckdb.connect(str(empty / "siheyuan.duckdb")).close()
    none = runner.invoke(
        main, ["asof", "2026-10-15", "--building", "B1", "--warehouse", str(empty)]
    )
    assert none.exit_code == 1 and "no history" in none.output
