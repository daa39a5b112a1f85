"""One month of change between two extract dates, and what each department sees of it.

``advance(world)`` moves the world from round K-1 to round K and returns the month's events.
Every draw comes from ``rng(seed, 2, K)`` so that each month is reproducible on its own; the
re-keying events (rekey.py) draw from ``rng(seed, 2, K, 1)`` after the others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import geography, households, rekey
from .config import month_config
from .dates import age_years, ymd_int, ymd_parts
from .idcard import id17_numbers
from .names import NameMaker
from .population import (
    _assign_health,
    _assign_hr,
    _register_floating,
    death_hazard,
    employer_draw,
    extract_day,
    new_family,
    pick_scheme,
)
from .rand import hash_int, rng
from .state import ACTIVE, DECEASED, DEPARTED, MOVED_OUT, World

CHILD_CODES = (20, 21, 22, 23, 30, 31, 32, 33)


@dataclass
class HrRow:
    """One hr_insured delta row as it was at the time of the change."""

    pid: int
    op: str  # 新增 / 变更 / 注销
    day: int
    part: int  # 1 -> _01 file, 2 -> _02 file
    scheme: str
    ins: int
    emp: int
    employer: int
    kind: str  # change kind for changes.csv


@dataclass
class MonthEvents:
    """What happened in the month that ends at round ``round_no``'s extract date."""

    round_no: int
    start_day: int
    end_day: int
    changes: list[tuple[int, str, str]] = field(default_factory=list)  # (pid, kind, dataset)
    health: dict[int, tuple[str, int, str]] = field(default_factory=dict)  # pid -> (op, day, kind)
    hr: list[HrRow] = field(default_factory=list)
    families_started: list[int] = field(default_factory=list)
    families_stopped: list[int] = field(default_factory=list)
    # changes whose record key is fixed when they happen (a new or a cancelled key):
    # (pid, kind, dataset, source_key, detail), detail the record's previous key
    keyed: list[tuple[int, str, str, str, str]] = field(default_factory=list)

    def health_event(self, pid: int, op: str, day: int, kind: str) -> None:
        """Record a health archive change; a delete wins, otherwise the latest change."""
        old = self.health.get(pid)
        if old is None or op == "D" or (old[0] != "D" and old[0] != "I" and day >= old[1]):
            self.health[pid] = (op, day, kind)


def _day(gen: np.random.Generator, ev: MonthEvents, n: int) -> np.ndarray:
    return ev.start_day + gen.integers(0, ev.end_day - ev.start_day, n)


def reassign_heads(world: World, gone_heads: np.ndarray) -> None:
    """A householder died: the spouse (or the eldest member) becomes 户主, relations shift."""
    p = world.persons
    for head in gone_heads.tolist():
        h = int(p["hh"][head])
        members = np.flatnonzero((p["hh"] == h) & (p["status"] == ACTIVE))
        members = members[members != head]
        if len(members) == 0:
            continue
        rels = p["rel"][members]
        spouse = members[rels == 10]
        if len(spouse):
            new = int(spouse[0])
            female = p["sex"][new] == 2
            for m in members.tolist():
                r = int(p["rel"][m])
                if r == 51:
                    p["rel"][m] = 53 if female else 55
                elif r == 52:
                    p["rel"][m] = 54 if female else 56
                elif r in (70, 99):
                    p["rel"][m] = 80 if r == 70 else 99
        else:
            new = int(members[np.argmin(p["birth"][members])])
            was_child = int(p["rel"][new]) in CHILD_CODES
            for m in members.tolist():
                r = int(p["rel"][m])
                if m == new:
                    continue
                if was_child and r in CHILD_CODES:
                    p["rel"][m] = 70
                elif was_child and r in (28, 38):
                    p["rel"][m] = 10
                elif was_child and r in (40, 41, 42):
                    p["rel"][m] = 20 if p["sex"][m] == 1 else 30
                elif r != 99:
                    p["rel"][m] = 80
        p["rel"][new] = 2
        world.households["head"][h] = new


def _unique_id17(
    world: World, region: np.ndarray, ymd: np.ndarray, male: np.ndarray, gen: np.random.Generator
) -> np.ndarray:
    """ID numbers for newcomers that collide with nobody already known."""
    existing = set(world.persons["id17"].tolist())
    out = np.empty(len(region), dtype=np.int64)
    for i in range(len(region)):
        while True:
            slot = int(gen.integers(1, 500))
            seq = 2 * slot - 1 if male[i] else 2 * slot
            n = int(id17_numbers(region[i : i + 1], ymd[i : i + 1], np.array([seq]))[0])
            if n not in existing:
                existing.add(n)
                out[i] = n
                break
    return out


def advance(world: World) -> MonthEvents:
    """Apply one month of change; ``world.round_no`` goes from K-1 to K.

    The month's event rates are world.yml's ``monthly:`` times ``world.change_scale``.
    """
    cfg = month_config(world.change_scale)
    k = world.round_no + 1
    gen = rng(world.seed, 2, k)
    ev = MonthEvents(k, extract_day(k - 1), extract_day(k))
    world.round_no = k
    mc = cfg["monthly"]
    p = world.persons

    _deaths(world, cfg, gen, ev)
    _moves_out(world, cfg, gen, ev)
    _household_moves(world, cfg, gen, ev)
    _floating_moves(world, cfg, gen, ev)
    _births(world, cfg, gen, ev)
    _floating_departures(world, cfg, gen, ev)
    _floating_arrivals(world, cfg, gen, ev)
    _assistance(world, cfg, gen, ev)
    _hr_changes(world, cfg, gen, ev)
    # health updates: phone numbers and new chronic conditions
    live = np.flatnonzero((p["arch_state"] == 1) & (p["status"] == ACTIVE))
    upd = live[gen.random(len(live)) < float(mc["health_updates"])]
    phone_change = gen.random(len(upd)) < 0.5
    new_mobile = 13 * 10**9 + gen.integers(0, 7 * 10**9, len(upd))
    p["mobile"][upd[phone_change]] = new_mobile[phone_change]
    cond = gen.integers(0, len(cfg["health"]["chronic"]), len(upd))
    bits = p["chronic"][upd[~phone_change]].astype(np.int64) | (1 << cond[~phone_change])
    p["chronic"][upd[~phone_change]] = bits
    for pid, d in zip(upd.tolist(), _day(gen, ev, len(upd)).tolist(), strict=True):
        ev.health_event(pid, "U", d, "health_updated")
    rekey.rekey_month(world, cfg, rng(world.seed, 2, k, 1), ev)
    return ev


def _deaths(world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents) -> None:
    p = world.persons
    alive = np.flatnonzero(p["status"] == ACTIVE)
    age = age_years(p["birth"][alive], ev.end_day).astype(float)
    died = alive[gen.random(len(alive)) < death_hazard(cfg, age)]
    days = _day(gen, ev, len(died))
    p["status"][died] = DECEASED
    p["status_day"][died] = days
    p["status_round"][died] = ev.round_no
    for pid, d in zip(died.tolist(), days.tolist(), strict=True):
        if not p["floating"][pid]:
            ev.changes.append((pid, "died", "police_hukou"))
        else:
            ev.changes.append((pid, "died", "police_floating"))
        if p["arch_state"][pid] == 1:
            ev.health_event(pid, "U", d, "died")
    heads = died[(~p["floating"][died]) & (p["rel"][died] == 2)]
    reassign_heads(world, heads)


def _moves_out(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    p = world.persons
    mc = cfg["monthly"]
    reg = np.flatnonzero((p["status"] == ACTIVE) & ~p["floating"])
    chosen = reg[gen.random(len(reg)) < float(mc["moved_out"])]
    whole = gen.random(len(chosen)) < float(mc["moved_out_whole_household"])
    movers = set(chosen[~whole & (p["rel"][chosen] != 2)].tolist())
    for h in np.unique(p["hh"][chosen[whole]]).tolist():
        members = np.flatnonzero((p["hh"] == h) & (p["status"] == ACTIVE))
        movers.update(members.tolist())
    out = np.array(sorted(movers), dtype=np.int64)
    days = _day(gen, ev, len(out))
    p["status"][out] = MOVED_OUT
    p["status_day"][out] = days
    p["status_round"][out] = ev.round_no
    delete = gen.random(len(out)) < float(mc["moved_out_health_delete"])
    for pid, d, dl in zip(out.tolist(), days.tolist(), delete.tolist(), strict=True):
        ev.changes.append((pid, "moved_out", "police_hukou"))
        if dl and p["arch_state"][pid] == 1:
            p["arch_state"][pid] = 2
            ev.health_event(pid, "D", d, "moved_out")


def _household_moves(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    p = world.persons
    hh_t = world.households
    nb = world.geo.n_buildings
    live_hh = np.unique(p["hh"][(p["status"] == ACTIVE) & (p["hh"] >= 0)])
    moving = live_hh[gen.random(len(live_hh)) < float(cfg["monthly"]["household_moves"])]
    if len(moving) == 0:
        return
    new_b = (hh_t["reg_b"][moving] + gen.integers(1, max(nb, 2), len(moving))) % nb
    new_flat = geography.random_flats(world.geo, gen, new_b)
    days = _day(gen, ev, len(moving))
    hr_too = gen.random(len(moving)) < 0.5
    for h, b, f, d, hr in zip(
        moving.tolist(),
        new_b.tolist(),
        new_flat.tolist(),
        days.tolist(),
        hr_too.tolist(),
        strict=True,
    ):
        members = np.flatnonzero((p["hh"] == h) & (p["status"] == ACTIVE))
        at_home = members[
            (p["res_b"][members] == p["reg_b"][members])
            & (p["res_flat"][members] == p["reg_flat"][members])
        ]
        p["reg_b"][members] = b
        p["reg_flat"][members] = f
        p["res_b"][at_home] = b
        p["res_flat"][at_home] = f
        hh_t["reg_b"][h] = b
        hh_t["reg_flat"][h] = f
        for m in members.tolist():
            ev.changes.append((m, "moved", "police_hukou"))
        for m in at_home.tolist():
            if p["arch_state"][m] == 1:
                ev.health_event(m, "U", d, "moved")
            if hr and p["hr_state"][m] == 1:
                ev.hr.append(_hr_row(p, m, "变更", d, "moved"))


def _floating_moves(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    p = world.persons
    nb = world.geo.n_buildings
    groups = np.unique(p["fgroup"][(p["status"] == ACTIVE) & p["floating"]])
    moving = groups[gen.random(len(groups)) < float(cfg["monthly"]["floating_moves"])]
    for g in moving.tolist():
        members = np.flatnonzero((p["fgroup"] == g) & (p["status"] == ACTIVE))
        b = int((p["res_b"][members[0]] + gen.integers(1, max(nb, 2))) % nb)
        f = int(geography.random_flats(world.geo, gen, np.array([b]))[0])
        d = int(_day(gen, ev, 1)[0])
        p["res_b"][members] = b
        p["res_flat"][members] = f
        for m in members.tolist():
            ev.changes.append((m, "moved", "police_floating"))
            if p["arch_state"][m] == 1:
                ev.health_event(m, "U", d, "moved")


def _births(world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents) -> None:
    p = world.persons
    age = age_years(p["birth"], ev.end_day)
    women = np.flatnonzero(
        (p["status"] == ACTIVE) & ~p["floating"] & (p["sex"] == 2) & (age >= 20) & (age <= 40)
    )
    mothers = women[gen.random(len(women)) < float(cfg["monthly"]["births_per_woman_20_40"])]
    if len(mothers) == 0:
        return
    n = len(mothers)
    births = _day(gen, ev, n)
    male = gen.random(n) < 0.515
    fathers = np.full(n, -1, dtype=np.int64)
    rels = np.full(n, 80, dtype=np.int64)
    for i, m in enumerate(mothers.tolist()):
        h = int(p["hh"][m])
        r = int(p["rel"][m])
        members = np.flatnonzero((p["hh"] == h) & (p["status"] == ACTIVE) & (p["sex"] == 1))
        mrels = p["rel"][members]
        want: tuple[int, ...] = ()
        if r == 2:
            want = (10,)
        elif r == 10:
            want = (2,)
        elif r == 38:
            want = CHILD_CODES
        elif r in CHILD_CODES:
            want = (28,)
        cand = members[np.isin(mrels, want)] if want else members[:0]
        if len(cand):
            fathers[i] = cand[0]
        if r in (2, 10):
            rels[i] = 20 if male[i] else 30
        elif r in (*CHILD_CODES, 28, 38):
            rels[i] = 41 if male[i] else 42
    nm = NameMaker(cfg)
    by, _, _ = ymd_parts(births)
    given = nm.given(gen, male, by)
    surname = np.where(fathers >= 0, p["surname"][np.maximum(fathers, 0)], p["surname"][mothers])
    name = np.array([s + g for s, g in zip(surname, given, strict=True)], dtype=object)
    region = np.full(n, cfg["district"]["region_code"], dtype=np.int64)
    id17 = _unique_id17(world, region, ymd_int(births), male, gen)
    eth = np.where(fathers >= 0, p["eth"][np.maximum(fathers, 0)], p["eth"][mothers])
    new = p.append(
        {
            "sex": np.where(male, 1, 2),
            "birth": births,
            "eth": eth,
            "region": region,
            "id17": id17,
            "id15": False,
            "surname": surname,
            "given": given,
            "name": name,
            "mobile": p["mobile"][mothers],
            "hh": p["hh"][mothers],
            "rel": rels,
            "mother": mothers,
            "father": fathers,
            "reg_b": p["reg_b"][mothers],
            "reg_flat": p["reg_flat"][mothers],
            "res_b": p["res_b"][mothers],
            "res_flat": p["res_flat"][mothers],
            "floating": False,
            "status": ACTIVE,
            "status_round": 0,
            "status_day": 0,
            "created_round": ev.round_no,
            "arch_state": 0,
            "hr_state": 0,
            "chronic": 0,
        },
        n,
    )
    p["hukou_no"][new] = world.next_numbers("hukou", n)
    got = _assign_health(world, cfg, gen, new, ev.end_day, ev.round_no, coverage=0.9)
    p["health_noid"][got] = True
    p["guardian"][got] = p["mother"][got]
    for pid, d in zip(new.tolist(), births.tolist(), strict=True):
        ev.changes.append((pid, "born", "police_hukou"))
        if p["arch_state"][pid] == 1:
            ev.health_event(pid, "I", d, "born")


def _floating_departures(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    p = world.persons
    mc = cfg["monthly"]
    groups = np.unique(p["fgroup"][(p["status"] == ACTIVE) & p["floating"]])
    leaving = groups[gen.random(len(groups)) < float(mc["floating_departures"])]
    members = np.flatnonzero(
        np.isin(p["fgroup"], leaving) & (p["status"] == ACTIVE) & p["floating"]
    )
    days = _day(gen, ev, len(members))
    p["status"][members] = DEPARTED
    p["status_day"][members] = days
    p["status_round"][members] = ev.round_no
    h_del = gen.random(len(members)) < float(mc["floating_departed_health_delete"])
    hr_del = gen.random(len(members)) < float(mc["floating_departed_hr_cancel"])
    for pid, d, hd, rd in zip(
        members.tolist(), days.tolist(), h_del.tolist(), hr_del.tolist(), strict=True
    ):
        ev.changes.append((pid, "floating_departed", "police_floating"))
        if hd and p["arch_state"][pid] == 1:
            p["arch_state"][pid] = 2
            ev.health_event(pid, "D", d, "floating_departed")
        if rd and p["hr_state"][pid] == 1:
            p["hr_state"][pid] = 2
            p["hr_ins"][pid] = 2
            ev.hr.append(_hr_row(p, pid, "注销", d, "floating_departed"))


def _floating_arrivals(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    p = world.persons
    n_active = int(((p["status"] == ACTIVE) & p["floating"]).sum())
    target = int(gen.poisson(n_active * float(cfg["monthly"]["floating_arrivals"])))
    if target == 0:
        return
    r = random.Random(int(gen.integers(0, 2**62)))
    sk = households.Skeleton()
    households.floating(cfg, r, target, ev.end_day, sk)
    n = len(sk.hh)
    group_base = int(p["fgroup"].max()) + 1
    group = np.array(sk.group, dtype=np.int64) + group_base
    male = np.array(sk.male, dtype=bool)
    birth = np.minimum(np.array(sk.birth, dtype=np.int64), ev.start_day - 1)
    nm = NameMaker(cfg)
    by, _, _ = ymd_parts(birth)
    fw = cfg["floating_regions"]
    keys = list(fw)
    w = np.array([float(fw[x]) for x in keys])
    region = np.array(keys)[gen.choice(len(keys), size=n, p=w / w.sum())].astype(np.int64)
    surname = nm.surname_draw(gen, n)
    src = np.array(sk.surname_of)
    for i in np.flatnonzero(src >= 0).tolist():
        surname[i] = surname[src[i]]
    rsrc = np.array(sk.region_of)
    for i in np.flatnonzero(rsrc >= 0).tolist():
        region[i] = region[rsrc[i]]
    given = nm.given(gen, male, by)
    name = np.array([s + g for s, g in zip(surname, given, strict=True)], dtype=object)
    id17 = _unique_id17(world, region, ymd_int(birth), male, gen)
    nb = world.geo.n_buildings
    grp_b = gen.integers(0, nb, int(group.max() - group_base) + 1)
    grp_flat = geography.random_flats(world.geo, gen, grp_b)
    mother = np.array(sk.mother, dtype=np.int64)
    father = np.array(sk.father, dtype=np.int64)
    # newcomers' ethnicity as among the floating population (Uyghur names need the dot
    # form, so newcomers are drawn from the other groups)
    shares = {c: v[2] for c, v in cfg["ethnicities"].items() if c != "05"}
    codes = np.array([int(c) for c in shares])
    ew = np.array(list(shares.values()), dtype=float)
    eth = codes[gen.choice(len(codes), size=n, p=ew / ew.sum())]
    esrc = np.array(sk.eth_of)
    for i in np.flatnonzero(esrc >= 0).tolist():
        eth[i] = eth[esrc[i]]
    start = len(p)
    mobile = 13 * 10**9 + gen.integers(0, 7 * 10**9, n)
    new = p.append(
        {
            "sex": np.where(male, 1, 2),
            "birth": birth,
            "eth": eth,
            "region": region,
            "id17": id17,
            "id15": False,
            "surname": surname,
            "given": given,
            "name": name,
            "mobile": mobile,
            "hh": -1,
            "rel": 0,
            "mother": np.where(mother >= 0, mother + start, -1),
            "father": np.where(father >= 0, father + start, -1),
            "reg_b": -1,
            "reg_flat": -1,
            "res_b": grp_b[group - group_base],
            "res_flat": grp_flat[group - group_base],
            "floating": True,
            "fgroup": group,
            "freason": np.array(sk.reason, dtype=object),
            "status": ACTIVE,
            "status_round": 0,
            "status_day": 0,
            "created_round": ev.round_no,
            "arch_state": 0,
            "hr_state": 0,
            "chronic": 0,
        },
        n,
    )
    _register_floating(world, cfg, gen, new, ev.end_day, since_days=ev.end_day - ev.start_day)
    got_h = _assign_health(world, cfg, gen, new, ev.end_day, ev.round_no, coverage=0.5)
    before = p["hr_state"][new].copy()
    _assign_hr(world, cfg, gen, new, ev.end_day, ev.round_no)
    for pid in new.tolist():
        ev.changes.append((pid, "floating_arrived", "police_floating"))
    for pid in got_h.tolist():
        ev.health_event(pid, "I", int(p["freg_date"][pid]), "floating_arrived")
    for pid, b in zip(new.tolist(), before.tolist(), strict=True):
        if p["hr_state"][pid] == 1 and b != 1:
            ev.hr.append(_hr_row(p, pid, "新增", int(p["freg_date"][pid]), "floating_arrived"))


def _assistance(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    p = world.persons
    cc = cfg["civil"]
    mc = cfg["monthly"]
    active = [i for i, f in enumerate(world.families) if f.stop_round == 0]
    u = gen.random(len(active))
    style = gen.random(len(active))
    for i, x, s in zip(active, u.tolist(), style.tolist(), strict=True):
        fam = world.families[i]
        alive = [m for m in fam.members if p["status"][m] == ACTIVE]
        if x < float(mc["assistance_stopped"]) or not alive:
            fam.stop_round = ev.round_no
            fam.stop_style = 1 if (s < float(cc["stopped_style_share"]) and alive) else 0
            ev.families_stopped.append(i)
    n_new = int(gen.poisson(len(active) * float(mc["assistance_started"])))
    if n_new == 0:
        return
    y, m, _ = ymd_parts(np.array([ev.start_day + 5]))
    ym = int(y[0] * 100 + m[0])
    assisted = {m for f in world.families if f.stop_round == 0 for m in f.members}
    age = age_years(p["birth"], ev.end_day)
    reg_active = np.flatnonzero((p["status"] == ACTIVE) & ~p["floating"])
    kinds = ["城乡低保", "临时救助", "特困供养", "残疾人两项补贴", "高龄津贴"]
    picks = gen.choice(len(kinds), size=n_new, p=[0.35, 0.15, 0.05, 0.15, 0.30])
    for kind_i in picks.tolist():
        kind = kinds[kind_i]
        if kind == "高龄津贴":
            pool = reg_active[age[reg_active] >= cc["elderly_allowance_age"]]
        elif kind == "特困供养":
            pool = reg_active[age[reg_active] >= 65]
        else:
            pool = reg_active
        if len(pool) == 0:
            continue
        pid = int(pool[int(gen.integers(len(pool)))])
        if pid in assisted:
            continue
        if kind in ("城乡低保", "临时救助"):
            members = np.flatnonzero((p["hh"] == p["hh"][pid]) & (p["status"] == ACTIVE)).tolist()
            if any(mm in assisted for mm in members):
                continue
        else:
            members = [pid]
        fam = new_family(world, cfg, gen, kind, members, ym, ev.round_no)
        world.families.append(fam)
        assisted.update(members)
        ev.families_started.append(len(world.families) - 1)


def _hr_row(p: Any, pid: int, op: str, day: int, kind: str) -> HrRow:
    return HrRow(
        pid,
        op,
        day,
        0,
        str(p["hr_scheme"][pid]),
        int(p["hr_ins"][pid]),
        int(p["hr_emp"][pid]),
        int(p["employer"][pid]),
        kind,
    )


def _hr_changes(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, ev: MonthEvents
) -> None:
    p = world.persons
    mc = cfg["monthly"]
    hc = cfg["hr"]
    mid = ev.start_day + (ev.end_day - ev.start_day) // 2
    insured = np.flatnonzero((p["hr_state"] == 1) & (p["status"] == ACTIVE))
    rows: list[HrRow] = []
    # employer changes and suspensions
    emp = insured[p["hr_emp"][insured] == 0]
    change = emp[gen.random(len(emp)) < float(mc["hr_employer_change"])]
    suspend = insured[
        (gen.random(len(insured)) < float(mc["hr_suspend"])) & (p["hr_ins"][insured] == 0)
    ]
    suspend = np.setdiff1d(suspend, change)
    # retirements: employed or unemployed people reaching retirement age this month
    age_now = age_years(p["birth"][insured], ev.end_day)
    age_before = age_years(p["birth"][insured], ev.start_day)
    ret_age = np.where(
        p["sex"][insured] == 1, hc["retirement_age"]["male"], hc["retirement_age"]["female"]
    )
    retire = insured[(age_now >= ret_age) & (age_before < ret_age) & (p["hr_emp"][insured] != 2)]
    retire = np.setdiff1d(retire, np.union1d(change, suspend))
    second = set(change[gen.random(len(change)) < float(mc["hr_second_change_share"])].tolist())
    for pid in change.tolist():
        two = pid in second
        d = (
            int(ev.start_day + gen.integers(0, max(1, mid - ev.start_day)))
            if two
            else int(_day(gen, ev, 1)[0])
        )
        p["employer"][pid] = int(employer_draw(world, gen, 1)[0])
        p["hr_ins"][pid] = 0
        rows.append(_hr_row(p, pid, "变更", d, "employer_changed"))
        if two:
            d2 = int(mid + gen.integers(0, max(1, ev.end_day - mid)))
            if gen.random() < 0.5:
                p["employer"][pid] = int(employer_draw(world, gen, 1)[0])
                rows.append(_hr_row(p, pid, "变更", d2, "employer_changed"))
            else:
                p["hr_ins"][pid] = 1
                rows.append(_hr_row(p, pid, "变更", d2, "insurance_suspended"))
    for pid, d in zip(suspend.tolist(), _day(gen, ev, len(suspend)).tolist(), strict=True):
        p["hr_ins"][pid] = 1
        rows.append(_hr_row(p, pid, "变更", d, "insurance_suspended"))
    for pid, d in zip(retire.tolist(), _day(gen, ev, len(retire)).tolist(), strict=True):
        p["hr_emp"][pid] = 2
        p["employer"][pid] = -1
        p["hr_ins"][pid] = 0
        p["hr_scheme"][pid] = str(pick_scheme(cfg, gen, "retired", 1)[0])
        rows.append(_hr_row(p, pid, "变更", d, "retired"))
    # newly insured working-age people
    age_all = age_years(p["birth"], ev.end_day)
    cand = np.flatnonzero(
        (p["hr_state"] <= 0)
        & (p["status"] == ACTIVE)
        & (age_all >= hc["working_age"][0])
        & (age_all < 55)
    )
    new = cand[gen.random(len(cand)) < float(mc["hr_new_insured"])]
    if len(new):
        p["hr_no"][new] = world.next_numbers("hr", len(new))
        p["hr_state"][new] = 1
        p["hr_round"][new] = ev.round_no
        p["hr_emp"][new] = 0
        p["hr_ins"][new] = 0
        p["hr_scheme"][new] = pick_scheme(cfg, gen, "employed", len(new))
        p["employer"][new] = employer_draw(world, gen, len(new))
        for pid, d in zip(new.tolist(), _day(gen, ev, len(new)).tolist(), strict=True):
            rows.append(_hr_row(p, pid, "新增", d, "insured"))
    # deaths reach hr one or two months late
    lo, hi = mc["hr_death_cancel_lag"]
    dead = np.flatnonzero((p["status"] == DECEASED) & (p["hr_state"] == 1))
    lag = lo + hash_int(world.seed, hi - lo + 1, dead, 77)
    due = dead[p["status_round"][dead] + lag <= ev.round_no]
    for pid, d in zip(due.tolist(), _day(gen, ev, len(due)).tolist(), strict=True):
        p["hr_state"][pid] = 2
        p["hr_ins"][pid] = 2
        rows.append(_hr_row(p, pid, "注销", d, "died"))
    for row in rows:
        row.part = 1 if row.day < mid else 2
    ev.hr.extend(rows)
    for row in ev.hr:
        if row.part == 0:
            row.part = 1 if row.day < mid else 2
