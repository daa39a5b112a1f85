"""The month's hard cases for stable ids: the same person under a new key or with a new ID.

A master-data hub must keep a person's id when a department re-keys the person's record
without anything about the person changing. Three such events are modelled here, each at a
monthly rate from ``world.yml`` ``monthly:`` and delivered the way the department would:

* **reregistered** — a floating group's 居住登记 is cancelled and redone (the 居住证 is renewed,
  a provisional registration without 证件号码 is redone, or the group moves): police_floating
  lists the persons under new 登记编号 with a new 登记日期, the old numbers are gone; half
  of the groups move at the same time. Persons without an ID number stay without one.
* **id_issued** — a child whose health archive has no own ID (id_type 99, guardian_id_no =
  a parent) gets it: health sends a U row with id_type 01 and the child's ID (police already
  had it).
* **renumbered** — civil affairs re-numbers an assisted family: after a member leaves the
  assistance (job, marriage, 分户), dies or moves out, or at a review (复核). The next
  snapshot lists the remaining members under a new 家庭编号, or with 成员序号 closed up.

The draws come from their own stream, ``rng(seed, 2, K, 1)``, after the month's other
events, so adding these kinds left the other events of a month unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

# extracts is imported as a module: it imports evolve, which imports this module
from . import extracts, geography
from .population import relation_text, world_today
from .state import ACTIVE, Family, World

if TYPE_CHECKING:
    from .evolve import MonthEvents


def _days(gen: np.random.Generator, ev: MonthEvents, n: int) -> np.ndarray:
    return ev.start_day + gen.integers(0, ev.end_day - ev.start_day, n)


def rekey_month(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    """Apply the month's re-registrations, issued IDs and renumbered families."""
    floating_reregistrations(world, cfg, gen, ev)
    ids_issued(world, cfg, gen, ev)
    families_renumbered(world, cfg, gen, ev)


def floating_reregistrations(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    """Floating groups registered again under new 登记编号 (the old ones are cancelled)."""
    p = world.persons
    mc = cfg["monthly"]
    act = np.flatnonzero(
        p["floating"] & (p["status"] == ACTIVE) & (p["created_round"] < ev.round_no)
    )
    if len(act) == 0:
        return
    groups = np.unique(p["fgroup"][act])
    no_id = np.isin(groups, p["fgroup"][act[p["fnoid"][act]]])
    rate = np.where(
        no_id, float(mc["floating_reregistered_no_id"]), float(mc["floating_reregistered"])
    )
    chosen = groups[gen.random(len(groups)) < rate]
    if len(chosen) == 0:
        return
    moved = gen.random(len(chosen)) < float(mc["floating_reregistered_moved"])
    days = _days(gen, ev, len(chosen))
    nb = world.geo.n_buildings
    shift = gen.integers(1, max(nb, 2), len(chosen))
    members_of = act[np.isin(p["fgroup"][act], chosen)]
    for g, mv, d, sh in zip(
        chosen.tolist(), moved.tolist(), days.tolist(), shift.tolist(), strict=True
    ):
        members = members_of[p["fgroup"][members_of] == g]
        old = [
            extracts.floating_key(int(n), int(r))
            for n, r in zip(p["freg_no"][members], p["freg_date"][members], strict=True)
        ]
        p["freg_no"][members] = world.next_numbers("floating", len(members))
        p["freg_date"][members] = d
        if mv:
            b = int((p["res_b"][members[0]] + sh) % nb)
            p["res_b"][members] = b
            p["res_flat"][members] = int(geography.random_flats(world.geo, gen, np.array([b]))[0])
        for m, old_key in zip(members.tolist(), old, strict=True):
            new_key = extracts.floating_key(int(p["freg_no"][m]), d)
            ev.keyed.append((m, "reregistered", "police_floating", new_key, old_key))
            if mv:
                ev.changes.append((m, "moved", "police_floating"))
                if p["arch_state"][m] == 1:
                    ev.health_event(m, "U", d, "moved")


def ids_issued(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    """Children in health without own ID get it: a U row with id_type 01 and the ID."""
    p = world.persons
    kids = np.flatnonzero(
        p["health_noid"]
        & (p["arch_state"] == 1)
        & (p["status"] == ACTIVE)
        & (p["created_round"] < ev.round_no)
    )
    got = kids[gen.random(len(kids)) < float(cfg["monthly"]["health_id_issued"])]
    # one row per archive and month: a child with another health change this month waits
    got = got[~np.isin(got, np.fromiter(ev.health, dtype=np.int64, count=len(ev.health)))]
    days = _days(gen, ev, len(got))
    p["health_noid"][got] = False
    p["id_issued_round"][got] = ev.round_no
    for pid, d in zip(got.tolist(), days.tolist(), strict=True):
        ev.health_event(pid, "U", d, "id_issued")


def families_renumbered(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    """Assisted families renumbered after a member left or ended, or at a review."""
    p = world.persons
    mc = cfg["monthly"]
    k = ev.round_no
    cand = [i for i, f in enumerate(world.families) if f.stop_round == 0 and f.created_round < k]
    u_left, u_ended, u_review, u_style, u_pick = (gen.random(len(cand)) for _ in range(5))
    for j, fi in enumerate(cand):
        fam = world.families[fi]
        live = [m for m in fam.members if p["status"][m] == ACTIVE]
        if not live:
            continue
        others = [m for m in live if m != fam.members[0]]
        ended_now = any(p["status"][m] != ACTIVE and p["status_round"][m] == k for m in fam.members)
        leaver = -1
        if len(live) >= 2 and others and u_left[j] < float(mc["assistance_member_left"]):
            leaver = others[int(u_pick[j] * len(others))]
            new_no = bool(u_style[j] < float(mc["assistance_renumber_new_family_no"]))
        elif ended_now and u_ended[j] < float(mc["assistance_renumbered_after_ended"]):
            new_no = bool(u_style[j] < float(mc["assistance_renumber_new_family_no"]))
        elif u_review[j] < float(mc["assistance_renumbered_review"]):
            new_no = True
        else:
            continue
        _renumber(world, fam, leaver, new_no, ev)


def _member_keys(fam: Family) -> list[str]:
    fkey = extracts.family_key(fam.family_no, fam.start_ym)
    return [f"{fkey}-{i + 1}" for i in range(len(fam.members))]


def _renumber(world: World, fam: Family, leaver: int, new_no: bool, ev: MonthEvents) -> None:
    """Drop the leaver and the ended members, close up 成员序号, maybe a new 家庭编号."""
    p = world.persons
    old_keys = dict(zip(fam.members, _member_keys(fam), strict=True))
    old_rounds = {m: fam.key_round(i) for i, m in enumerate(fam.members)}
    keep = [i for i, m in enumerate(fam.members) if p["status"][m] == ACTIVE and m != leaver]
    members = [fam.members[i] for i in keep]
    relations = [fam.relations[i] for i in keep]
    amounts = [fam.amounts[i] for i in keep]
    if members[0] != fam.members[0]:
        # the applicant is gone: the eldest adult (else the eldest) applies, relations follow
        today = world_today(world)
        adults = [m for m in members if today - p["birth"][m] > 18 * 365]
        applicant = min(adults or members, key=lambda m: (int(p["birth"][m]), m))
        order = [members.index(applicant)] + [i for i, m in enumerate(members) if m != applicant]
        members = [members[i] for i in order]
        amounts = [amounts[i] for i in order]
        a_rel = int(p["rel"][applicant])
        relations = ["本人"] + [
            relation_text(a_rel, int(p["rel"][m]), bool(p["sex"][m] == 1)) for m in members[1:]
        ]
    fam.members, fam.relations, fam.amounts = members, relations, amounts
    if new_no:
        fam.family_no = int(world.next_numbers("family", 1)[0])
    new_keys = _member_keys(fam)
    fam.key_rounds = []
    for m, key in zip(members, new_keys, strict=True):
        if key != old_keys[m]:
            ev.keyed.append((m, "renumbered", "civil_assistance", key, old_keys[m]))
            fam.key_rounds.append(ev.round_no)
        else:
            fam.key_rounds.append(old_rounds[m])
    if leaver >= 0:
        ev.keyed.append(
            (leaver, "assistance_stopped", "civil_assistance", old_keys[leaver], "member_left")
        )
