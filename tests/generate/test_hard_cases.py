"""Round 2's hard cases for stable ids: re-registered, ID issued, renumbered, corrected.

Each kind must show up at about its world.yml rate, be delivered the way the department
would send it, and have a truth (changes.csv, records.csv) that says it is the same person.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from siheyuan.generate import GenerateSummary, generate_sample
from siheyuan.generate.config import dirt_config, world_config
from siheyuan.generate.evolve import MonthEvents
from siheyuan.generate.population import build_world, extract_day
from siheyuan.generate.rekey import families_renumbered
from siheyuan.generate.state import ACTIVE

from .helpers import read_csv, read_rows, source_key

PERSONS, SEED = 20_000, 3


@pytest.fixture(scope="module")
def hard(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerateSummary, GenerateSummary]:
    """Rounds 1 and 2 of 20,000 persons into one folder."""
    out = tmp_path_factory.mktemp("hard")
    r1, r2 = (generate_sample(persons=PERSONS, seed=SEED, out=out, round_no=k) for k in (1, 2))
    return r1, r2


def _changes(summary: GenerateSummary, kind: str) -> list[dict[str, str]]:
    return [c for c in read_csv(summary.truth_dir / "changes.csv") if c["change_kind"] == kind]


def _records(summary: GenerateSummary) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["dataset"], r["source_key"]): r for r in read_csv(summary.truth_dir / "records.csv")}


def _rows(summary: GenerateSummary, dataset: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for f in summary.files:
        if f.dataset == dataset:
            for row in read_rows(f.path)[1]:
                key = source_key(dataset, row)
                if key:
                    out[key] = row
    return out


def _dirty(summary: GenerateSummary) -> set[tuple[str, str, str]]:
    return {
        (d["dataset"], d["source_key"], d["column"])
        for d in read_csv(summary.truth_dir / "dirt.csv")
    }


def test_rekey_kinds_appear_at_their_rates(hard) -> None:
    r1, r2 = hard
    mc = world_config()["monthly"]
    floating = _rows(r1, "police_floating").values()
    no_id = sum(1 for r in floating if not r["证件号码"].strip())
    expected = (len(floating) - no_id) * mc["floating_reregistered"] + no_id * mc[
        "floating_reregistered_no_id"
    ]
    rereg = {c["person_id"] for c in _changes(r2, "reregistered")}
    assert 0.3 * expected < len(rereg) < 3 * expected, (len(rereg), expected)
    children = sum(1 for r in _rows(r1, "health_records").values() if r["id_type"] == "99")
    issued = {c["person_id"] for c in _changes(r2, "id_issued")}
    expected = children * mc["health_id_issued"]
    assert 0.3 * expected < len(issued) < 3 * expected, (len(issued), expected)
    renumbered = {c["person_id"] for c in _changes(r2, "renumbered")}
    families = {k.rsplit("-", 1)[0] for k in _rows(r1, "civil_assistance")}
    assert 1 <= len(renumbered) < 0.1 * len(families)
    corrected = Counter(
        what.split(":")[0] for c in _changes(r2, "corrected") for what in c["detail"].split(";")
    )
    assert corrected["id"] > 10 and corrected["name"] > 10


def test_reregistered_person_keeps_person_id_under_the_new_key(hard) -> None:
    r1, r2 = hard
    old_rec, new_rec = _records(r1), _records(r2)
    old_rows, new_rows = _rows(r1, "police_floating"), _rows(r2, "police_floating")
    month_start = str(np.datetime64(extract_day(1), "D"))
    changes = _changes(r2, "reregistered")
    assert changes
    for c in changes:
        new, old = ("police_floating", c["source_key"]), ("police_floating", c["detail"])
        assert new_rec[new]["person_id"] == old_rec[old]["person_id"] == c["person_id"]
        assert new_rec[new]["true_id_number"] == old_rec[old]["true_id_number"]
        assert old not in new_rec and c["detail"] not in new_rows  # the old number is cancelled
        assert new not in old_rec
        assert new_rows[c["source_key"]]["登记日期"].strip() >= month_start
        # a registration without 证件号码 is redone without one (the hard case)
        assert bool(new_rows[c["source_key"]]["证件号码"].strip()) == bool(
            old_rows[c["detail"]]["证件号码"].strip()
        )
    assert any(not new_rows[c["source_key"]]["证件号码"].strip() for c in changes)


def test_id_issued_health_row_carries_the_childs_id(hard) -> None:
    r1, r2 = hard
    new_rec = _records(r2)
    before, now = _rows(r1, "health_records"), _rows(r2, "health_records")
    dirty = _dirty(r2)
    police = {
        r["person_id"]: r["true_id_number"]
        for (ds, _k), r in _records(r1).items()
        if ds in ("police_hukou", "police_floating")
    }
    changes = _changes(r2, "id_issued")
    assert changes
    for c in changes:
        key = c["source_key"]
        row, rec = now[key], new_rec["health_records", key]
        assert before[key]["id_type"] == "99" and before[key]["id_no"] is None
        assert row["op"] == "U" and row["id_type"] == "01" and row["guardian_id_no"] is None
        assert rec["person_id"] == c["person_id"]
        assert police[c["person_id"]] == rec["true_id_number"]  # police had the ID already
        if ("health_records", key, "id_no") not in dirty:
            assert row["id_no"] == rec["true_id_number"]


def test_renumbered_members_keep_person_id(hard) -> None:
    r1, r2 = hard
    old_rec, new_rec = _records(r1), _records(r2)
    rows = _rows(r2, "civil_assistance")
    changes = _changes(r2, "renumbered")
    assert changes
    for c in changes:
        new, old = ("civil_assistance", c["source_key"]), ("civil_assistance", c["detail"])
        assert new_rec[new]["person_id"] == old_rec[old]["person_id"] == c["person_id"]
        assert new not in old_rec or old_rec[new]["person_id"] != c["person_id"]
        # the old key is gone, or now another member's (成员序号 closed up)
        assert old not in new_rec or new_rec[old]["person_id"] != c["person_id"]
        assert rows[c["source_key"]]["状态"] == "在保"
    for family in {c["source_key"].rsplit("-", 1)[0] for c in changes}:
        members = sorted(int(k.rsplit("-", 1)[1]) for k in rows if k.rsplit("-", 1)[0] == family)
        assert members == list(range(1, len(members) + 1))
        assert rows[f"{family}-1"]["与申请人关系"] == "本人"


def test_corrected_says_what_was_fixed(hard) -> None:
    r1, r2 = hard
    old_rec = _records(r1)
    logged = {
        (d["dataset"], d["source_key"], d["dirt_kind"]) for d in read_csv(r1.truth_dir / "dirt.csv")
    }
    kinds = set(dirt_config()["kinds"])
    roles = {"id", "name", "date", "address", "phone", "sex"}
    changes = _changes(r2, "corrected")
    assert changes
    for c in changes:
        key = (c["dataset"], c["source_key"])
        assert key in old_rec  # a corrected value was delivered before
        for what in c["detail"].split(";"):
            role, kind = what.split(":")
            assert role in roles and kind in kinds
            assert (c["dataset"], c["source_key"], kind) in logged, c
    # a correction row with nothing dirty to fix is sent all the same, as 'resent'
    for c in _changes(r2, "resent"):
        assert c["dataset"] in ("health_records", "hr_insured") and c["detail"] == ""


def test_renumbering_closes_up_families(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every family renumbered in one month (rates at 1): keys stay unique, the truth says who."""
    monthly = world_config()["monthly"]
    for rate in (
        "assistance_member_left",
        "assistance_renumbered_after_ended",
        "assistance_renumbered_review",
    ):
        monkeypatch.setitem(monthly, rate, 1.0)
    world = build_world(11, 3000)
    world.round_no = 2
    p = world.persons
    before = {id(f): (f.family_no, list(f.members)) for f in world.families}
    ev = MonthEvents(2, extract_day(1), extract_day(2))
    families_renumbered(world, world_config(), np.random.default_rng(0), ev)
    keyed = Counter(k[1] for k in ev.keyed)
    assert keyed["renumbered"] > 0 and keyed["assistance_stopped"] > 0
    left = {k[0] for k in ev.keyed if k[1] == "assistance_stopped"}
    assert all(k[4] == "member_left" for k in ev.keyed if k[1] == "assistance_stopped")
    keys = [f"{f.family_no}-{i}" for f in world.families for i in range(1, len(f.members) + 1)]
    assert len(keys) == len(set(keys))
    for f in world.families:
        old_no, old_members = before[id(f)]
        if f.stop_round or not any(p["status"][m] == ACTIVE for m in old_members):
            continue
        assert f.family_no != old_no or len(old_members) > 1
        assert all(p["status"][m] == ACTIVE and m not in left for m in f.members)
        assert f.relations[0] == "本人" and len(f.relations) == len(f.members) == len(f.amounts)
        assert f.key_rounds == [2] * len(f.members) or f.family_no == old_no
