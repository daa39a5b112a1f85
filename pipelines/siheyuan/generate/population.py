"""Building the round-1 world: households, floating groups, buildings and every person's records.

The world is a pure function of (seed, persons): round K rebuilds it and then applies K-1
months of change (evolve.py), so no state is kept between runs.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import numpy as np

from . import geography, households
from .config import dirt_config, world_config
from .dates import add_months, age_years, day_number, ymd_int, ymd_parts
from .idcard import id17_numbers, sequences
from .names import NameMaker
from .rand import rng
from .state import ACTIVE, DECEASED, MOVED_OUT, Family, Table, World

PERSON_COLUMNS: dict[str, Any] = {
    "sex": np.int8,
    "birth": np.int32,
    "eth": np.int8,
    "region": np.int32,
    "id17": np.int64,
    "id15": bool,
    "surname": object,
    "given": object,
    "name": object,
    "former": object,
    "mobile": np.int64,
    "hh": np.int32,
    "rel": np.int16,
    "mother": np.int32,
    "father": np.int32,
    "reg_b": np.int32,
    "reg_flat": np.int32,
    "res_b": np.int32,
    "res_flat": np.int32,
    "floating": bool,
    "fgroup": np.int32,
    "freason": object,
    "freg_date": np.int32,
    "fnoid": bool,
    "freg_no": np.int64,
    "freg_no2": np.int64,
    "freg2_date": np.int32,
    "status": np.int8,
    "status_day": np.int32,
    "status_round": np.int16,
    "created_round": np.int16,
    "hukou_no": np.int64,
    "archive": np.int64,
    "arch_state": np.int8,
    "arch_round": np.int16,
    "health_noid": bool,
    "guardian": np.int32,
    "id_issued_round": np.int16,  # round a child without own ID in health got it (-1: never)
    "chronic": np.int16,
    "hr_no": np.int64,
    "hr_state": np.int8,
    "hr_round": np.int16,
    "hr_scheme": object,
    "hr_ins": np.int8,
    "hr_emp": np.int8,
    "employer": np.int32,
}
HOUSEHOLD_COLUMNS: dict[str, Any] = {
    "hukou_no": np.int64,
    "head": np.int32,
    "reg_b": np.int32,
    "reg_flat": np.int32,
    "landline": np.int64,
}
MOBILE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        166,
        173,
        176,
        177,
        180,
        181,
        182,
        183,
        185,
        186,
        187,
        188,
        189,
        191,
        195,
        198,
        199,
    ]
)


def extract_date(round_no: int) -> dt.date:
    """Round K's extract date: the first extract date plus K-1 months."""
    first = dt.date.fromisoformat(world_config()["first_extract_date"])
    return add_months(first, round_no - 1)


def extract_day(round_no: int) -> int:
    """Day number of round K's extract date."""
    return day_number(extract_date(round_no))


def _weighted(gen: np.random.Generator, table: dict[Any, float], n: int) -> np.ndarray:
    keys = list(table)
    w = np.array([float(table[k]) for k in keys])
    return np.array(keys)[gen.choice(len(keys), size=n, p=w / w.sum())]


def _resolve(values: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Copy values along 'same as person X' links (sources always precede their copies)."""
    out = values.copy()
    idx = np.flatnonzero(source >= 0)
    for _ in range(6):
        new = out[source[idx]]
        if np.array_equal(new, out[idx]):
            break
        out[idx] = new
    return out


def employers(cfg: dict[str, Any], gen: np.random.Generator) -> list[str]:
    """Employer names: 杭州<brand><trade><form> plus a few public bodies."""
    e = cfg["hr"]["employers"]
    forms = list(e["forms"])
    fw = np.array(list(e["forms"].values()), dtype=float)
    combos = [(b, t) for b in e["brands"] for t in e["trades"]]
    picks = gen.permutation(len(combos))[: e["count"]]
    form_idx = gen.choice(len(forms), size=len(picks), p=fw / fw.sum())
    names = [
        f"杭州{combos[i][0]}{combos[i][1]}{forms[f]}" for i, f in zip(picks, form_idx, strict=True)
    ]
    return list(e["public"]) + names


SKELETON_FIELDS = (
    "hh",
    "group",
    "rel",
    "male",
    "birth",
    "surname_of",
    "eth_of",
    "region_of",
    "mother",
    "father",
    "twin_of",
    "reason",
)


def _truncate(sk: object, n: int) -> None:
    """Cut every per-person list of the household skeleton to its first ``n`` persons."""
    for name in SKELETON_FIELDS:
        getattr(sk, name)[:] = getattr(sk, name)[:n]


def build_world(seed: int, persons: int) -> World:
    """The world at the first extract date."""
    cfg = world_config()
    today = extract_day(1)
    gen = rng(seed, 1)
    r = random.Random(int(gen.integers(0, 2**62)))
    n_float = round(persons * float(cfg["floating"]["share"]))
    sk = households.registered(cfg, r, persons - n_float, today)
    # cut the last household short if it overshot; keep the head
    del_from = persons - n_float
    _truncate(sk, del_from)
    n_reg = len(sk.hh)
    households.floating(cfg, r, persons - n_reg, today, sk)
    _truncate(sk, persons)
    n = len(sk.hh)

    hh = np.array(sk.hh, dtype=np.int64)
    group = np.array(sk.group, dtype=np.int64)
    is_float = group >= 0
    male = np.array(sk.male, dtype=bool)
    birth = np.array(sk.birth, dtype=np.int64)
    by, _, _ = ymd_parts(birth)

    # ethnicity
    reg_p = {c: v[1] for c, v in cfg["ethnicities"].items()}
    flo_p = {c: v[2] for c, v in cfg["ethnicities"].items()}
    eth = np.where(is_float, _weighted(gen, flo_p, n), _weighted(gen, reg_p, n)).astype(object)
    eth = _resolve(np.array([int(x) for x in eth], dtype=np.int64), np.array(sk.eth_of))

    # region of the ID number
    region = np.where(
        is_float,
        _weighted(gen, cfg["floating_regions"], n),
        _weighted(gen, cfg["registered_regions"], n),
    ).astype(np.int64)
    for code, regions in cfg["ethnic_regions"].items():
        share = np.where(is_float, 0.8, 0.3)
        mask = (eth == int(code)) & (gen.random(n) < share)
        region[mask] = np.array(regions)[gen.integers(0, len(regions), mask.sum())]
    region_of = np.array(sk.region_of, dtype=np.int64)
    local = region_of == -2
    region[local & (gen.random(n) < 0.85)] = cfg["district"]["region_code"]
    region = _resolve(region, np.where(region_of >= 0, region_of, -1))

    # names
    nm = NameMaker(cfg)
    surname = _resolve(nm.surname_draw(gen, n), np.array(sk.surname_of))
    given = nm.given(gen, male, by)
    twin_of = np.array(sk.twin_of)
    homo = dirt_config()["homophones"]
    near = np.flatnonzero(
        (twin_of >= 0) & (gen.random(n) < float(cfg["twin_near_identical_share"]))
    )
    for p in near.tolist():
        g = given[twin_of[p]]
        last = g[-1]
        given[p] = g[:-1] + homo.get(last, last + "儿")[-1] if last in homo else g + "儿"
    same = np.flatnonzero(twin_of >= 0)
    for p in same.tolist():
        if given[p] == given[twin_of[p]]:
            given[p] = given[p] + ("然" if male[p] else "妍")
    uy = eth == 5
    name = np.array([s + g for s, g in zip(surname, given, strict=True)], dtype=object)
    if uy.any():
        own = nm.uyghur_given(gen, male[uy])
        uy_idx = np.flatnonzero(uy)
        own_of = dict(zip(uy_idx.tolist(), own.tolist(), strict=True))
        fathers = np.array(sk.father)[uy_idx]
        fallback = nm.uyghur_father(gen, len(uy_idx))
        for i, p in enumerate(uy_idx.tolist()):
            f = fathers[i]
            fpart = own_of.get(f, fallback[i]) if f >= 0 else fallback[i]
            given[p] = own_of[p]
            surname[p] = ""
            name[p] = f"{own_of[p]}·{fpart}"
    former = np.full(n, "", dtype=object)
    adult = (today - birth) > 18 * 365
    has_former = np.flatnonzero(adult & ~uy & (gen.random(n) < float(cfg["former_name_share"])))
    fg = nm.given(gen, male[has_former], by[has_former])
    former[has_former] = [surname[p] + g for p, g in zip(has_former.tolist(), fg, strict=True)]

    # ID numbers
    ymd = ymd_int(birth)
    seq = sequences(region * 10**8 + ymd, male, gen)
    id17 = id17_numbers(region, ymd, seq)
    id15 = (~is_float) & (by < 1945) & (gen.random(n) < float(cfg["old_15_digit_share"]))

    # households table
    n_hh = int(hh.max()) + 1 if n_reg else 0
    heads = np.full(n_hh, -1, dtype=np.int64)
    reg_idx = np.flatnonzero(hh >= 0)
    heads[hh[reg_idx[::-1]]] = reg_idx[::-1]  # first member of each household is its head
    landline = np.where(
        gen.random(n_hh) < float(cfg["landline_share"]), gen.integers(81000000, 89999999, n_hh), 0
    )

    # phones
    mobile = MOBILE_PREFIXES[gen.integers(0, len(MOBILE_PREFIXES), n)] * 10**8 + gen.integers(
        0, 10**8, n
    )
    age = age_years(birth, today)
    mother = np.array(sk.mother, dtype=np.int64)
    father = np.array(sk.father, dtype=np.int64)
    kid = age < 16
    parent = np.where(mother >= 0, mother, father)
    kid_parent = kid & (parent >= 0)
    mobile[kid_parent] = mobile[parent[kid_parent]]
    kid_head = kid & ~kid_parent & (hh >= 0)
    mobile[kid_head] = mobile[heads[hh[kid_head]]]
    old_landline = (age >= int(cfg["no_mobile_from_age"])) & (hh >= 0)
    old_landline &= (landline[np.maximum(hh, 0)] > 0) & (gen.random(n) < 0.6)
    mobile[old_landline] = 0

    # flats: one per household, floating families one each, single floaters share 1-3 a flat
    gtypes = np.array(sk.group_type, dtype=object)
    n_groups = len(gtypes)
    single_group = np.isin(gtypes, ["worker", "trader", "student", "other"])
    flat_of_group = np.empty(n_groups, dtype=np.int64)
    sg = np.flatnonzero(single_group)
    shares = gen.integers(1, 4, len(sg))
    flat_of_group[sg] = n_hh + np.repeat(np.arange(len(sg)), shares)[: len(sg)]
    n_flatunits = n_hh + (int(flat_of_group[sg].max()) - n_hh + 1 if len(sg) else 0)
    og = np.flatnonzero(~single_group)
    flat_of_group[og] = n_flatunits + np.arange(len(og))
    n_flatunits += len(og)
    unit_of_person = np.where(is_float, flat_of_group[np.maximum(group, 0)], hh)
    occupancy = np.bincount(unit_of_person, minlength=n_flatunits).astype(np.int64)
    keep = occupancy > 0
    remap = np.cumsum(keep) - 1
    unit_of_person = remap[unit_of_person]
    geo, unit_building, unit_flat = geography.build(cfg, gen, occupancy[keep])
    res_b = unit_building[unit_of_person]
    res_flat = unit_flat[unit_of_person]
    reg_b = np.where(is_float, -1, res_b)
    reg_flat = np.where(is_float, -1, res_flat)
    hh_b = np.full(n_hh, -1, dtype=np.int64)
    hh_flat = np.full(n_hh, -1, dtype=np.int64)
    hh_b[hh[reg_idx]] = reg_b[reg_idx]
    hh_flat[hh[reg_idx]] = reg_flat[reg_idx]
    away = (~is_float) & (gen.random(n) < float(cfg["living_elsewhere_share"]))
    away_idx = np.flatnonzero(away)
    if len(away_idx):
        nb = geo.n_buildings
        shift = gen.integers(1, max(nb, 2), len(away_idx))
        other = (res_b[away_idx] + shift) % nb
        res_b[away_idx] = other
        res_flat[away_idx] = geography.random_flats(geo, gen, other)

    cols: dict[str, np.ndarray] = {
        "sex": np.where(male, 1, 2),
        "birth": birth,
        "eth": eth,
        "region": region,
        "id17": id17,
        "id15": id15,
        "surname": surname,
        "given": given,
        "name": name,
        "former": former,
        "mobile": mobile,
        "hh": hh,
        "rel": np.array(sk.rel),
        "mother": mother,
        "father": father,
        "reg_b": reg_b,
        "reg_flat": reg_flat,
        "res_b": res_b,
        "res_flat": res_flat,
        "floating": is_float,
        "fgroup": group,
        "freason": np.array(sk.reason, dtype=object),
    }
    persons_t = Table(
        {
            k: np.asarray(cols[k]).astype(t) if k in cols else _default(t, n)
            for k, t in PERSON_COLUMNS.items()
        }
    )
    hh_t = Table(
        {
            "hukou_no": np.arange(n_hh, dtype=np.int64),
            "head": heads,
            "reg_b": hh_b,
            "reg_flat": hh_flat,
            "landline": landline.astype(np.int64),
        }
    )
    world = World(
        seed=seed,
        persons_requested=persons,
        geo=geo,
        persons=persons_t,
        households=hh_t,
        families=[],
        employers=employers(cfg, gen),
    )
    world.counters = {
        "hukou": 0,
        "household": n_hh,
        "floating": 0,
        "archive": 0,
        "hr": 0,
        "family": 0,
    }
    p = persons_t
    p["status"][:] = ACTIVE
    p["created_round"][:] = 1
    p["status_round"][:] = 0
    p["status_day"][:] = 0
    # record numbers
    reg = np.flatnonzero(~is_float)
    p["hukou_no"][reg] = world.next_numbers("hukou", len(reg))
    _register_floating(world, cfg, gen, np.flatnonzero(is_float), today)
    _assign_health(world, cfg, gen, np.arange(n), today, round_no=1)
    _assign_hr(world, cfg, gen, np.arange(n), today, round_no=1)
    _initial_endings(world, cfg, gen, today)
    _initial_families(world, cfg, gen, today)
    return world


def _default(dtype: Any, n: int) -> np.ndarray:
    if dtype is object:
        return np.full(n, "", dtype=object)
    if dtype is bool:
        return np.zeros(n, dtype=bool)
    return np.full(n, -1, dtype=dtype)


def _register_floating(
    world: World,
    cfg: dict[str, Any],
    gen: np.random.Generator,
    idx: np.ndarray,
    today: int,
    since_days: int | None = None,
) -> None:
    """Registration numbers and dates for new floating persons."""
    p = world.persons
    fc = cfg["floating"]
    k = len(idx)
    back = since_days if since_days is not None else int(fc["registered_years_back"] * 365)
    earliest = np.maximum(p["birth"][idx] + 30, today - back)
    p["freg_date"][idx] = earliest + (gen.random(k) * (today - earliest)).astype(np.int64)
    p["freg_no"][idx] = world.next_numbers("floating", k)
    p["fnoid"][idx] = gen.random(k) < float(fc["no_id_share"])
    dup = idx[gen.random(k) < float(fc["duplicate_registration_share"])]
    p["freg_no2"][dup] = world.next_numbers("floating", len(dup))
    p["freg2_date"][dup] = np.minimum(
        p["freg_date"][dup] + gen.integers(30, 400, len(dup)), today - 1
    )


def chronic_probabilities(cfg: dict[str, Any], age: np.ndarray) -> list[np.ndarray]:
    """Per condition, the probability of having it at each age (linear between 40/60/80)."""
    out = []
    for p40, p60, p80 in cfg["health"]["chronic"].values():
        prob = np.interp(age, [30, 40, 60, 80], [0.0, p40, p60, p80])
        out.append(prob)
    return out


def _assign_health(
    world: World,
    cfg: dict[str, Any],
    gen: np.random.Generator,
    idx: np.ndarray,
    today: int,
    round_no: int,
    coverage: float | None = None,
) -> np.ndarray:
    """Open health archives for a share of ``idx``; returns the persons that got one."""
    p = world.persons
    hc = cfg["health"]
    cov = float(hc["coverage"]) if coverage is None else coverage
    got = idx[gen.random(len(idx)) < cov]
    got = got[p["arch_state"][got] <= 0]
    p["archive"][got] = world.next_numbers("archive", len(got))
    p["arch_state"][got] = 1
    p["arch_round"][got] = round_no
    age = age_years(p["birth"][got], today)
    guardian = np.where(p["mother"][got] >= 0, p["mother"][got], p["father"][got])
    hh = p["hh"][got]
    head = np.where(hh >= 0, world.households["head"][np.maximum(hh, 0)], -1)
    guardian = np.where((guardian < 0) & (head != got), head, guardian)
    young = (age < int(hc["child_without_id_age"])) & (guardian >= 0)
    noid = young & (gen.random(len(got)) < float(hc["child_without_id_share"]))
    p["health_noid"][got] = noid
    p["guardian"][got] = np.where(age < 18, guardian, -1)
    bits = np.zeros(len(got), dtype=np.int64)
    for i, prob in enumerate(chronic_probabilities(cfg, age.astype(float))):
        bits |= (gen.random(len(got)) < prob).astype(np.int64) << i
    p["chronic"][got] = bits
    return got


def pick_scheme(cfg: dict[str, Any], gen: np.random.Generator, kind: str, n: int) -> np.ndarray:
    """Insurance schemes for ``n`` people of an employment kind (employed/unemployed/retired)."""
    return _weighted(gen, cfg["hr"]["schemes"][kind], n).astype(object)


def employer_draw(world: World, gen: np.random.Generator, n: int) -> np.ndarray:
    """Employers by a long-tailed size distribution (a few big ones, many small)."""
    m = len(world.employers)
    w = 1.0 / (np.arange(m) + 8.0)
    return gen.choice(m, size=n, p=w / w.sum())


def _assign_hr(
    world: World,
    cfg: dict[str, Any],
    gen: np.random.Generator,
    idx: np.ndarray,
    today: int,
    round_no: int,
) -> None:
    """Social insurance for working-age people and retirees."""
    p = world.persons
    hc = cfg["hr"]
    age = age_years(p["birth"][idx], today)
    male = p["sex"][idx] == 1
    ret_age = np.where(male, hc["retirement_age"]["male"], hc["retirement_age"]["female"])
    working = (age >= hc["working_age"][0]) & (age < ret_age)
    retired = (age >= ret_age) & (age < 95)
    u = gen.random(len(idx))
    insured = (working & (u < hc["working_age_insured"])) | (retired & (u < hc["retiree_insured"]))
    got = idx[insured]
    w = working[insured]
    unemployed = w & (gen.random(len(got)) < hc["unemployed_share"])
    emp = np.where(w, np.where(unemployed, 1, 0), 2)
    p["hr_no"][got] = world.next_numbers("hr", len(got))
    p["hr_state"][got] = 1
    p["hr_round"][got] = round_no
    p["hr_emp"][got] = emp
    scheme = np.empty(len(got), dtype=object)
    for code, kind in ((0, "employed"), (1, "unemployed"), (2, "retired")):
        m = emp == code
        scheme[m] = pick_scheme(cfg, gen, kind, int(m.sum()))
    p["hr_scheme"][got] = scheme
    p["hr_ins"][got] = np.where(unemployed & (gen.random(len(got)) < 0.5), 1, 0)
    p["employer"][got] = np.where(emp == 0, employer_draw(world, gen, len(got)), -1)


def death_hazard(cfg: dict[str, Any], age: np.ndarray) -> np.ndarray:
    """Monthly death probability by age (Gompertz: doubling every 8 years)."""
    at80 = float(cfg["monthly"]["deaths_hazard_at_80"])
    return np.minimum(at80 * 2.0 ** ((age - 80) / 8.0), 0.2)


def _initial_endings(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, today: int
) -> None:
    """Deaths and moves out in the month before round 1: police still lists them once."""
    p = world.persons
    n = len(p)
    age = age_years(p["birth"], today).astype(float)
    died = gen.random(n) < death_hazard(cfg, age)
    reg = ~p["floating"]
    out = reg & ~died & (gen.random(n) < float(cfg["monthly"]["moved_out"]))
    out &= p["rel"] != 2
    for mask, status in ((died, DECEASED), (out, MOVED_OUT)):
        idx = np.flatnonzero(mask)
        p["status"][idx] = status
        p["status_day"][idx] = today - gen.integers(1, 31, len(idx))
        p["status_round"][idx] = 1
    # floating persons who died simply are not in the floating list
    from .evolve import reassign_heads

    reassign_heads(world, np.flatnonzero(died & reg & (p["rel"] == 2)))


def relation_text(head_rel: int, member_rel: int, member_male: bool) -> str:
    """A member's relation to an applicant, as civil affairs writes it."""
    child = {20, 21, 22, 23, 30, 31, 32, 33}
    if head_rel in (2, 10):
        if member_rel in (2, 10):
            return "配偶"
        if member_rel in child:
            return "子" if member_male else "女"
        if member_rel in (40, 41, 42):
            return "孙子" if member_male else "孙女"
        if member_rel in (28, 38):
            return "女婿" if member_male else "儿媳"
        if member_rel in (51, 52) and head_rel == 2:
            return "父亲" if member_male else "母亲"
        if member_rel == 70 and head_rel == 2:
            return "兄弟" if member_male else "姐妹"
        return "其他"
    if head_rel in child:
        if member_rel in (2, 10):
            return "父亲" if member_male else "母亲"
        if member_rel in child:
            return "兄弟" if member_male else "姐妹"
        if member_rel in (28, 38):
            return "配偶"
        if member_rel in (40, 41, 42):
            return "子" if member_male else "女"
    return "其他"


def new_family(
    world: World,
    cfg: dict[str, Any],
    gen: np.random.Generator,
    kind: str,
    members: list[int],
    start_ym: int,
    round_no: int,
) -> Family:
    """An assisted family; the applicant (成员序号 1) is usually the householder."""
    p = world.persons
    cc = cfg["civil"]
    if len(members) > 1:
        rels = [int(p["rel"][m]) for m in members]
        adults = [m for m in members if (world_today(world) - p["birth"][m]) > 18 * 365]
        head = [m for m, r in zip(members, rels, strict=True) if r == 2]
        if head and (gen.random() < cc["applicant_is_head_share"] or len(adults) < 2):
            applicant = head[0]
        else:
            applicant = adults[int(gen.integers(len(adults)))] if adults else members[0]
        members = [applicant] + [m for m in members if m != applicant]
        a_rel = int(p["rel"][applicant])
        relations = [
            relation_text(a_rel, int(p["rel"][m]), bool(p["sex"][m] == 1)) for m in members
        ]
        relations[0] = "本人"
    else:
        relations = ["本人"]
    lo, hi = cc["amounts"][kind]
    amounts = [int(round(float(gen.uniform(lo, hi)) / 10) * 10) for _ in members]
    fam = Family(
        family_no=int(world.next_numbers("family", 1)[0]),
        kind=kind,
        members=list(members),
        relations=relations,
        amounts=amounts,
        start_ym=start_ym,
        created_round=round_no,
    )
    return fam


def world_today(world: World) -> int:
    """Day number of the world's current extract date."""
    return extract_day(world.round_no)


def random_start_month(gen: np.random.Generator, today: int, years_back: float) -> int:
    """A YYYYMM within the last ``years_back`` years."""
    y, m, _ = ymd_parts(np.array([today - int(gen.uniform(20, years_back * 365))]))
    return int(y[0] * 100 + m[0])


def _initial_families(
    world: World, cfg: dict[str, Any], gen: np.random.Generator, today: int
) -> None:
    p = world.persons
    cc = cfg["civil"]
    active = (p["status"] == ACTIVE) & ~p["floating"]
    n_hh = len(world.households)
    members_of: dict[int, list[int]] = {}
    hh_pick = np.flatnonzero(gen.random(n_hh) < float(cc["household_share"]))
    pick_set = set(hh_pick.tolist())
    for pid in np.flatnonzero(active).tolist():
        h = int(p["hh"][pid])
        if h in pick_set:
            members_of.setdefault(h, []).append(pid)
    types = list(cc["family_types"])
    tw = np.array(list(cc["family_types"].values()), dtype=float)
    for h in sorted(members_of):
        kind = types[int(gen.choice(len(types), p=tw / tw.sum()))]
        world.families.append(
            new_family(world, cfg, gen, kind, members_of[h], random_start_month(gen, today, 8), 1)
        )
    age = age_years(p["birth"], today)
    hh_size = np.bincount(np.maximum(p["hh"], 0)[active], minlength=n_hh)
    alone = active & (p["hh"] >= 0) & (hh_size[np.maximum(p["hh"], 0)] == 1) & (age >= 65)
    for pid in np.flatnonzero(alone & (gen.random(len(p)) < cc["tekun_share_of_elderly_alone"])):
        world.families.append(
            new_family(
                world, cfg, gen, "特困供养", [int(pid)], random_start_month(gen, today, 10), 1
            )
        )
    for pid in np.flatnonzero(active & (age >= 1) & (gen.random(len(p)) < cc["disability_share"])):
        world.families.append(
            new_family(
                world, cfg, gen, "残疾人两项补贴", [int(pid)], random_start_month(gen, today, 6), 1
            )
        )
    old = active & (age >= cc["elderly_allowance_age"])
    for pid in np.flatnonzero(old & (gen.random(len(p)) < cc["elderly_allowance_share"])):
        years = float(age[pid] - cc["elderly_allowance_age"]) + 0.2
        world.families.append(
            new_family(
                world,
                cfg,
                gen,
                "高龄津贴",
                [int(pid)],
                random_start_month(gen, today, min(years, 15)),
                1,
            )
        )
