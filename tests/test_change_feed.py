"""The change feed history.resident_change, derived at each publish."""

from __future__ import annotations

import datetime

import duckdb
import pytest
from history_fixtures import changes, kinds, publish, resident

D1 = datetime.date(2026, 10, 1)
D2 = datetime.date(2026, 11, 1)


@pytest.fixture
def conn():
    c = duckdb.connect()
    yield c
    c.close()


@pytest.fixture
def baseline(conn):
    publish(
        conn,
        1,
        D1,
        [
            resident("R1"),
            resident("R2", building_id="B2"),
            resident("R3", source_datasets="health_records,police_floating", household_id=None),
        ],
    )
    return conn


def test_first_version_every_resident_is_new_and_nothing_else(conn):
    publish(
        conn,
        1,
        D1,
        [resident("R1"), resident("R2", status="deceased", status_date=D1)],
    )
    assert kinds(conn, 1) == {("R1", "new"), ("R2", "new")}
    row = changes(conn, 1)[0]
    assert row["version_number"] == 1 and row["as_of"] == D1


def test_a_changed_phone_is_updated_with_that_field(baseline):
    publish(
        baseline,
        2,
        D2,
        [
            resident("R1", phone_e164="+8613900000000"),
            resident("R2", building_id="B2"),
            resident("R3", source_datasets="health_records,police_floating", household_id=None),
        ],
    )
    rows = changes(baseline, 2)
    assert [(r["resident_id"], r["change_kind"], r["changed_fields"]) for r in rows] == [
        ("R1", "updated", ["phone_e164"])
    ]


def test_bookkeeping_columns_alone_are_not_an_update(baseline):
    publish(
        baseline,
        2,
        D2,
        [
            resident("R1", source_record_count=5, source_datasets="civil_assistance,police_hukou"),
            resident("R2", building_id="B2"),
            resident("R3", source_datasets="health_records,police_floating", household_id=None),
        ],
    )
    assert changes(baseline, 2) == []
    # history still versions the row: an as-of row is the mart as it was published
    n = baseline.execute(
        "SELECT count(*) FROM history.resident_history WHERE resident_id = 'R1'"
    ).fetchone()
    assert n == (2,)


def test_a_move_is_moved_in_with_both_buildings_and_an_update(baseline):
    publish(
        baseline,
        2,
        D2,
        [
            resident("R1", building_id="B9"),
            resident("R2", building_id="B2"),
            resident("R3", source_datasets="health_records,police_floating", household_id=None),
        ],
    )
    rows = {r["change_kind"]: r for r in changes(baseline, 2)}
    assert set(rows) == {"moved_in", "updated"}
    assert (rows["moved_in"]["previous_building_id"], rows["moved_in"]["new_building_id"]) == (
        "B1",
        "B9",
    )
    assert rows["updated"]["changed_fields"] == ["building_id"]


def test_death_is_deceased_with_its_date(baseline):
    died = datetime.date(2026, 10, 20)
    publish(
        baseline,
        2,
        D2,
        [
            resident("R1", status="deceased", status_date=died),
            resident("R2", building_id="B2"),
            resident("R3", source_datasets="health_records,police_floating", household_id=None),
        ],
    )
    rows = {r["change_kind"]: r for r in changes(baseline, 2)}
    assert set(rows) == {"deceased", "updated"}
    assert rows["deceased"]["status_date"] == died
    assert rows["updated"]["changed_fields"] == ["status", "status_date"]


def test_hukou_qianchu_is_deregistered_and_a_floating_departure_moved_out(baseline):
    left = datetime.date(2026, 10, 15)
    publish(
        baseline,
        2,
        D2,
        [
            resident("R1"),
            resident("R2", building_id="B2", status="moved_out", status_date=left),
            resident(
                "R3",
                source_datasets="health_records,police_floating",
                household_id=None,
                status="moved_out",
                status_date=left,
            ),
        ],
    )
    rows = {(r["resident_id"], r["change_kind"]): r for r in changes(baseline, 2)}
    assert set(rows) == {
        ("R2", "deregistered"),
        ("R2", "updated"),
        ("R3", "moved_out"),
        ("R3", "updated"),
    }
    assert rows["R2", "deregistered"]["previous_building_id"] == "B2"
    assert rows["R2", "deregistered"]["status_date"] == left
    assert rows["R3", "moved_out"]["status_date"] == left


def test_a_new_resident_after_the_baseline_is_new_and_moved_in(baseline):
    publish(
        baseline,
        2,
        D2,
        [
            resident("R1"),
            resident("R2", building_id="B2"),
            resident("R3", source_datasets="health_records,police_floating", household_id=None),
            resident("R4", building_id="B7", source_datasets="police_floating"),
        ],
    )
    rows = {r["change_kind"]: r for r in changes(baseline, 2)}
    assert set(rows) == {"new", "moved_in"}
    assert (rows["moved_in"]["previous_building_id"], rows["moved_in"]["new_building_id"]) == (
        None,
        "B7",
    )


def test_merge_and_split_events_are_merged_and_split_rows(baseline):
    # R3 merged into R1; R5 split off R2 (R5 is not reported as new)
    publish(
        baseline,
        2,
        D2,
        [
            resident("R1", source_record_count=3),
            resident("R2", building_id="B2"),
            resident("R5", building_id="B2", name="张卫"),
        ],
        events=[
            {
                "old_resident_id": "R3",
                "new_resident_id": "R1",
                "event": "merged",
                "record_count": 1,
                "reason": "same valid ID number",
            },
            {
                "old_resident_id": "R2",
                "new_resident_id": "R5",
                "event": "split",
                "record_count": 1,
                "reason": "steward cannot-link",
            },
        ],
    )
    rows = {(r["resident_id"], r["change_kind"]): r for r in changes(baseline, 2)}
    assert set(rows) == {("R3", "merged"), ("R5", "split")}
    assert rows["R3", "merged"]["related_resident_id"] == "R1"
    assert rows["R3", "merged"]["reason"] == "same valid ID number"
    assert rows["R5", "split"]["related_resident_id"] == "R2"
    # the retired id's history row is closed
    closed = baseline.execute(
        "SELECT valid_to, is_current FROM history.resident_history WHERE resident_id = 'R3'"
    ).fetchall()
    assert closed == [(D2, False)]


def test_an_active_resident_gone_without_a_merge_moved_out(baseline):
    publish(baseline, 2, D2, [resident("R1"), resident("R2", building_id="B2")])
    rows = changes(baseline, 2)
    assert [(r["resident_id"], r["change_kind"], r["previous_building_id"]) for r in rows] == [
        ("R3", "moved_out", "B1")
    ]


def test_feed_rows_are_unique_per_resident_kind_and_version(baseline):
    events = [
        {
            "old_resident_id": "R3",
            "new_resident_id": "R1",
            "event": "merged",
            "record_count": 1,
            "reason": "x",
        }
    ] * 2
    publish(baseline, 2, D2, [resident("R1"), resident("R2", building_id="B2")], events=events)
    dupes = baseline.execute(
        "SELECT count(*) FROM (SELECT version_number, resident_id, change_kind "
        "FROM history.resident_change GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()
    assert dupes == (0,)
    assert ("R3", "merged") in kinds(baseline, 2)
