"""Clean rows of the five extracts for one round, before dirt.

Each builder returns an ``Extract``: column-wise values, the source key of every row and the
truth behind it (person, household, building, active/ended).  Address columns are kept as
(building, flat) pairs here because their written form is a dirt decision (dirt.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import world_config
from .dates import from_day, ymd_parts
from .evolve import HrRow, MonthEvents
from .idcard import id18_strings, to_15
from .population import extract_day
from .rand import hash_int, hash_uniform
from .state import ACTIVE, DECEASED, HR_EMPLOYMENT, HR_INSURANCE_STATES, World

DATASETS = ("police_hukou", "police_floating", "civil_assistance", "health_records", "hr_insured")
DEPARTMENT = {
    "police_hukou": "police",
    "police_floating": "police",
    "civil_assistance": "civil_affairs",
    "health_records": "health",
    "hr_insured": "hr",
}
EXTENSION = {
    "police_hukou": "csv",
    "police_floating": "csv",
    "civil_assistance": "xlsx",
    "health_records": "jsonl",
    "hr_insured": "csv",
}
DS_INDEX = {d: i + 1 for i, d in enumerate(DATASETS)}


@dataclass
class Extract:
    """One file's rows, column-wise, with the truth of every row."""

    dataset: str
    file_name: str
    columns: list[str]
    values: dict[str, list[Any]]
    keys: list[str]
    key_int: np.ndarray
    person: np.ndarray
    household: np.ndarray
    building: np.ndarray
    ended: np.ndarray
    version: int  # 0: snapshot (dirt persists); else per-delivery
    addresses: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    dates: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # col -> (fmt, days)
    no_dirt: np.ndarray | None = None  # rows that must stay clean (corrections)
    change_kinds: list[str] | None = None  # delta rows: why the row was sent
    change_details: list[str] | None = None  # delta rows: changes.csv detail (what was fixed)
    new_rows: np.ndarray | None = None  # snapshot rows whose key is new this round

    def __len__(self) -> int:
        return len(self.keys)


def file_name(dataset: str, day: int, seq: int | None = None) -> str:
    """<dataset>_<YYYYMMDD>[_<seq>].<ext>"""
    stamp = from_day(day).strftime("%Y%m%d")
    suffix = f"_{seq:02d}" if seq is not None else ""
    return f"{dataset}_{stamp}{suffix}.{EXTENSION[dataset]}"


# ---- keys ------------------------------------------------------------------------------


def hukou_key(n: int) -> str:
    """人员编号."""
    return f"330106{n:010d}"


def floating_key(n: int, reg_day: int) -> str:
    """登记编号: region, registration year, sequence."""
    return f"330106{from_day(reg_day).year}{n:07d}"


def family_key(family_no: int, start_ym: int) -> str:
    """家庭编号."""
    return f"330106{start_ym // 100}{family_no:05d}"


def archive_key(n: int) -> str:
    """health archive_no."""
    return f"330106{n:011d}"


def hr_key(n: int) -> str:
    """hr 个人编号."""
    return str(3301000000 + n)


# ---- helpers ---------------------------------------------------------------------------


def _ids(world: World, pids: np.ndarray) -> list[str]:
    return id18_strings(world.persons["id17"][pids])


def _phones(world: World, pids: np.ndarray) -> list[str | None]:
    p = world.persons
    mob = p["mobile"][pids].tolist()
    hh = p["hh"][pids]
    land = np.where(hh >= 0, world.households["landline"][np.maximum(hh, 0)], 0).tolist()
    return [
        str(m) if m > 0 else (f"0571-{ll}" if ll > 0 else None)
        for m, ll in zip(mob, land, strict=True)
    ]


def _sex_text(world: World, pids: np.ndarray) -> list[str]:
    return ["男" if s == 1 else "女" for s in world.persons["sex"][pids].tolist()]


def _iso(days: np.ndarray) -> list[str]:
    return np.asarray(days, dtype="int64").astype("datetime64[D]").astype(str).tolist()


def _compact(days: np.ndarray) -> list[str]:
    return [s.replace("-", "") for s in _iso(days)]


def covered_days(round_no: int) -> tuple[int, int]:
    """The month a round's deltas cover: [previous extract date, this extract date)."""
    end = extract_day(round_no)
    if round_no > 1:
        return extract_day(round_no - 1), end
    first = from_day(end)
    prev = dt.date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return (prev - dt.date(1970, 1, 1)).days, end


def _truth_arrays(
    world: World, pids: np.ndarray, buildings: np.ndarray, ended: np.ndarray
) -> dict[str, np.ndarray]:
    return {
        "person": pids,
        "household": world.persons["hh"][pids],
        "building": buildings,
        "ended": ended,
    }


def _correction_kind(detail: str) -> str:
    """changes.csv kind of a correction row: 'resent' when it had nothing dirty to fix."""
    return "corrected" if detail else "resent"


# ---- police --------------------------------------------------------------------------


def police_hukou(world: World, round_no: int) -> Extract:
    """常住人口登记: everyone registered, plus those who died/moved out this month."""
    p = world.persons
    sel = (
        (~p["floating"])
        & (p["hukou_no"] >= 0)
        & ((p["status"] == ACTIVE) | ((p["status_round"] == round_no) & (p["status"] != ACTIVE)))
    )
    pids = np.flatnonzero(sel)
    pids = pids[np.argsort(p["hukou_no"][pids], kind="stable")]
    status = p["status"][pids]
    ids = _ids(world, pids)
    id15 = p["id15"][pids].tolist()
    ids = [to_15(i) if old else i for i, old in zip(ids, id15, strict=True)]
    dereg = np.where(status != ACTIVE, p["status_day"][pids], 0)
    values = {
        "人员编号": [hukou_key(n) for n in p["hukou_no"][pids].tolist()],
        "公民身份号码": ids,
        "姓名": p["name"][pids].tolist(),
        "曾用名": [f or None for f in p["former"][pids].tolist()],
        "性别": [str(s) for s in p["sex"][pids].tolist()],
        "民族": [f"{e:02d}" for e in p["eth"][pids].tolist()],
        "出生日期": _compact(p["birth"][pids]),
        "户号": [
            f"{106000000 + h:09d}" for h in world.households["hukou_no"][p["hh"][pids]].tolist()
        ],
        "与户主关系": [f"{r:02d}" for r in p["rel"][pids].tolist()],
        "户籍地址": [],
        "人员状态": [("正常", "死亡", "迁出", "迁出")[s] for s in status.tolist()],
        "注销日期": [
            s if d > 0 else None for s, d in zip(_compact(dereg), dereg.tolist(), strict=True)
        ],
    }
    ended = status != ACTIVE
    ex = Extract(
        "police_hukou",
        file_name("police_hukou", extract_day(round_no)),
        list(values),
        values,
        values["人员编号"],
        p["hukou_no"][pids],
        version=0,
        **_truth_arrays(world, pids, p["reg_b"][pids], ended),
    )
    ex.addresses["户籍地址"] = (p["reg_b"][pids], p["reg_flat"][pids])
    ex.dates["出生日期"] = ("ymd", p["birth"][pids])
    ex.new_rows = p["created_round"][pids] >= round_no
    return ex


def home_address(world: World, pids: np.ndarray) -> list[str]:
    """户籍地详址 of floating persons: their (made-up but stable) home village."""
    cfg = world_config()
    regions = cfg["regions"]
    towns, villages = cfg["towns"], cfg["villages"]
    t = hash_int(world.seed, len(towns), pids, 11)
    v = hash_int(world.seed, len(villages), pids, 12)
    n = hash_int(world.seed, 120, pids, 13) + 1
    rg = world.persons["region"][pids].tolist()
    return [
        f"{regions.get(r, '')}{towns[a]}{villages[b]}{c}号"
        for r, a, b, c in zip(rg, t.tolist(), v.tolist(), n.tolist(), strict=True)
    ]


def police_floating(world: World, round_no: int) -> Extract:
    """流动人口居住登记: floating persons living in the district now (some registered twice)."""
    p = world.persons
    active = np.flatnonzero(p["floating"] & (p["status"] == ACTIVE))
    dup = active[p["freg_no2"][active] >= 0]
    pids = np.concatenate([active, dup])
    regno = np.concatenate([p["freg_no"][active], p["freg_no2"][dup]])
    regday = np.concatenate([p["freg_date"][active], p["freg2_date"][dup]])
    order = np.argsort(regno, kind="stable")
    pids, regno, regday = pids[order], regno[order], regday[order]
    ids: list[str | None] = list(_ids(world, pids))
    ids = [None if noid else i for i, noid in zip(ids, p["fnoid"][pids].tolist(), strict=True)]
    values = {
        "登记编号": [
            floating_key(n, d) for n, d in zip(regno.tolist(), regday.tolist(), strict=True)
        ],
        "证件号码": ids,
        "姓名": p["name"][pids].tolist(),
        "性别": _sex_text(world, pids),
        "出生日期": _iso(p["birth"][pids]),
        "户籍地详址": home_address(world, pids),
        "现居住地址": [],
        "居住事由": p["freason"][pids].tolist(),
        "联系电话": _phones(world, pids),
        "登记日期": _iso(regday),
    }
    ex = Extract(
        "police_floating",
        file_name("police_floating", extract_day(round_no)),
        list(values),
        values,
        values["登记编号"],
        regno,
        version=0,
        **_truth_arrays(world, pids, p["res_b"][pids], np.zeros(len(pids), bool)),
    )
    ex.addresses["现居住地址"] = (p["res_b"][pids], p["res_flat"][pids])
    ex.dates["出生日期"] = ("iso", p["birth"][pids])
    ex.dates["登记日期"] = ("iso", regday)
    ex.new_rows = regday >= covered_days(round_no)[0]
    return ex


# ---- civil affairs ---------------------------------------------------------------------


def civil_assistance(world: World, round_no: int) -> Extract:
    """救助对象: current assisted families, one row per living member; 停保 once when stopped."""
    p = world.persons
    pids: list[int] = []
    fam_keys: list[str] = []
    key_int: list[int] = []
    kinds: list[str] = []
    rel: list[str] = []
    amount: list[int] = []
    start: list[str] = []
    state: list[str] = []
    applicant: list[int] = []
    new: list[bool] = []
    for fam in world.families:
        if fam.created_round > round_no:
            continue
        stopped_now = fam.stop_round == round_no and fam.stop_style == 1
        if fam.stop_round and fam.stop_round <= round_no and not stopped_now:
            continue
        live = [(i, m) for i, m in enumerate(fam.members) if p["status"][m] == ACTIVE]
        if not live:
            continue
        fkey = family_key(fam.family_no, fam.start_ym)
        for i, m in live:
            pids.append(m)
            fam_keys.append(f"{fkey}-{i + 1}")
            key_int.append(fam.family_no * 1000 + i + 1)
            kinds.append(fam.kind)
            rel.append(fam.relations[i])
            amount.append(fam.amounts[i])
            start.append(str(fam.start_ym))
            state.append("停保" if stopped_now else "在保")
            applicant.append(fam.members[0])
            new.append(fam.key_round(i) >= round_no)
    pa = np.array(pids, dtype=np.int64)
    app = np.array(applicant, dtype=np.int64)
    phones = _phones(world, pa)
    app_phones = _phones(world, app)
    phones = [ph or ap for ph, ap in zip(phones, app_phones, strict=True)]
    values: dict[str, list[Any]] = {
        "家庭编号": [k.rsplit("-", 1)[0] for k in fam_keys],
        "成员序号": [int(k.rsplit("-", 1)[1]) for k in fam_keys],
        "救助类型": kinds,
        "姓名": p["name"][pa].tolist(),
        "身份证号": _ids(world, pa),
        "性别": _sex_text(world, pa),
        "出生日期": [],
        "与申请人关系": rel,
        "家庭住址": [],
        "联系电话": phones,
        "月保障金额": amount,
        "起始年月": start,
        "状态": state,
    }
    ki = np.array(key_int, dtype=np.int64)
    values["出生日期"] = civil_birth_values(world, ki, p["birth"][pa])
    ex = Extract(
        "civil_assistance",
        file_name("civil_assistance", extract_day(round_no)),
        list(values),
        values,
        fam_keys,
        ki,
        version=0,
        **_truth_arrays(world, pa, p["res_b"][app], np.array(state) == "停保"),
    )
    ex.addresses["家庭住址"] = (p["res_b"][app], p["res_flat"][app])
    ex.dates["出生日期"] = ("civil", p["birth"][pa])
    ex.new_rows = np.array(new, dtype=bool)
    return ex


def civil_birth_values(world: World, key_int: np.ndarray, days: np.ndarray) -> list[Any]:
    """出生日期 as civil affairs has it: 1985/3/2, 1985-03-02 or a real Excel date cell."""
    style = hash_int(world.seed, 10, key_int, 21)
    y, m, d = ymd_parts(days)
    out: list[Any] = []
    for s, yy, mm, dd in zip(style.tolist(), y.tolist(), m.tolist(), d.tolist(), strict=True):
        if s < 5:
            out.append(f"{yy}/{mm}/{dd}")
        elif s < 8:
            out.append(f"{yy}-{mm:02d}-{dd:02d}")
        else:
            out.append(dt.date(yy, mm, dd))
    return out


# ---- health --------------------------------------------------------------------------


def _chronic_lists() -> list[list[str]]:
    names = list(world_config()["health"]["chronic"])
    return [[n for i, n in enumerate(names) if mask >> i & 1] for mask in range(1 << len(names))]


def health_records(
    world: World,
    round_no: int,
    ev: MonthEvents | None,
    corrections: dict[int, str] | None = None,
) -> Extract:
    """居民健康档案 delta: round 1 inserts every archive; later rounds the month's changes.

    ``corrections``: persons whose dirty first delivery is corrected now, with what was fixed.
    """
    p = world.persons
    start, end = covered_days(round_no)
    if ev is None:
        pids = np.flatnonzero(p["arch_state"] == 1)
        ops = ["I"] * len(pids)
        days = start + hash_int(world.seed, end - start, p["archive"][pids], 31)
        kinds = ["initial"] * len(pids)
    else:
        items = sorted(ev.health.items())
        pids = np.array([k for k, _ in items], dtype=np.int64)
        ops = [v[0] for _, v in items]
        days = np.array([v[1] for _, v in items], dtype=np.int64)
        kinds = [v[2] for _, v in items]
    clean = np.zeros(len(pids), dtype=bool)
    details = [""] * len(pids)
    if corrections:
        fix = np.setdiff1d(np.fromiter(corrections, dtype=np.int64), pids)
        cdays = start + hash_int(world.seed, end - start, p["archive"][fix], 32, round_no)
        pids = np.concatenate([pids, fix])
        ops += ["U"] * len(fix)
        days = np.concatenate([np.asarray(days), cdays])
        details += [corrections[c] for c in fix.tolist()]
        kinds += [_correction_kind(corrections[c]) for c in fix.tolist()]
        clean = np.concatenate([clean, np.ones(len(fix), dtype=bool)])
    secs = 8 * 3600 + hash_int(world.seed, 10 * 3600, p["archive"][pids], 33, round_no)
    order = np.lexsort((p["archive"][pids], secs, days))
    pids, days, secs, clean = pids[order], np.asarray(days)[order], secs[order], clean[order]
    ops = [ops[i] for i in order.tolist()]
    kinds = [kinds[i] for i in order.tolist()]
    details = [details[i] for i in order.tolist()]
    chronic = _chronic_lists()
    noid = p["health_noid"][pids]
    ids = _ids(world, pids)
    guardian = p["guardian"][pids]
    gids = _ids(world, np.maximum(guardian, 0))
    dead = p["status"][pids] == DECEASED
    values: dict[str, list[Any]] = {
        "archive_no": [archive_key(n) for n in p["archive"][pids].tolist()],
        "op": ops,
        "name": p["name"][pids].tolist(),
        "gender_code": [str(s) for s in p["sex"][pids].tolist()],
        "birth_date": _iso(p["birth"][pids]),
        "id_type": ["99" if x else "01" for x in noid.tolist()],
        "id_no": [None if x else i for x, i in zip(noid.tolist(), ids, strict=True)],
        "guardian_id_no": [
            g if x and gp >= 0 else None
            for x, g, gp in zip(noid.tolist(), gids, guardian.tolist(), strict=True)
        ],
        "phone": _phones(world, pids),
        "address": [],
        "chronic": [chronic[c] for c in p["chronic"][pids].tolist()],
        "death_date": [
            s if x else None
            for s, x in zip(_iso(p["status_day"][pids]), dead.tolist(), strict=True)
        ],
        "updated_at": [
            f"{d}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
            for d, s in zip(_iso(days), secs.tolist(), strict=True)
        ],
    }
    ended = np.array([o == "D" for o in ops], dtype=bool)
    ex = Extract(
        "health_records",
        file_name("health_records", end),
        list(values),
        values,
        values["archive_no"],
        p["archive"][pids],
        version=round_no,
        **_truth_arrays(world, pids, p["res_b"][pids], ended),
    )
    ex.addresses["address"] = (p["res_b"][pids], p["res_flat"][pids])
    ex.dates["birth_date"] = ("iso", p["birth"][pids])
    ex.no_dirt = clean
    ex.change_kinds = kinds
    ex.change_details = details
    return ex


# ---- hr --------------------------------------------------------------------------------


def hr_insured(
    world: World,
    round_no: int,
    rows: list[HrRow] | None,
    part: int | None,
    corrections: dict[int, str] | None = None,
) -> Extract:
    """社会保险参保 delta: round 1 every insured person as 新增; later the month's changes.

    ``corrections``: persons whose dirty first delivery is corrected now, with what was fixed
    (each goes to the part of the month its correction day falls in).
    """
    p = world.persons
    cfg = world_config()
    start, end = covered_days(round_no)
    if rows is None:
        pids = np.flatnonzero(p["hr_state"] == 1)
        days = start + hash_int(world.seed, end - start, p["hr_no"][pids], 41)
        rows = [
            HrRow(
                int(pid),
                "新增",
                int(d),
                0,
                str(p["hr_scheme"][pid]),
                int(p["hr_ins"][pid]),
                int(p["hr_emp"][pid]),
                int(p["employer"][pid]),
                "initial",
            )
            for pid, d in zip(pids.tolist(), days.tolist(), strict=True)
        ]
    rows = list(rows)
    clean_flags = [False] * len(rows)
    detail_of: list[str] = [""] * len(rows)
    if corrections:
        fix = np.fromiter(corrections, dtype=np.int64)
        cdays = start + hash_int(world.seed, end - start, p["hr_no"][fix], 42, round_no)
        mid = start + (end - start) // 2
        mine = (cdays < mid) if part == 1 else (cdays >= mid)
        for pid, d in zip(fix[mine].tolist(), cdays[mine].tolist(), strict=True):
            rows.append(
                HrRow(
                    pid,
                    "变更",
                    d,
                    part or 0,
                    str(p["hr_scheme"][pid]),
                    int(p["hr_ins"][pid]),
                    int(p["hr_emp"][pid]),
                    int(p["employer"][pid]),
                    _correction_kind(corrections[pid]),
                )
            )
            clean_flags.append(True)
            detail_of.append(corrections[pid])
    order = sorted(range(len(rows)), key=lambda i: (rows[i].day, int(p["hr_no"][rows[i].pid])))
    rows = [rows[i] for i in order]
    clean = np.array([clean_flags[i] for i in order], dtype=bool)
    details = [detail_of[i] for i in order]
    pids = np.array([r.pid for r in rows], dtype=np.int64)
    eth_names = {int(c): v[0] for c, v in cfg["ethnicities"].items()}
    short = hash_uniform(world.seed, pids, 43) < float(cfg["hr_ethnicity_short_share"])
    eth = [
        eth_names[e][:-1] if s and e == 1 else eth_names[e]
        for e, s in zip(p["eth"][pids].tolist(), short.tolist(), strict=True)
    ]
    y, m, _ = ymd_parts(p["birth"][pids])
    emp = world.employers
    values: dict[str, list[Any]] = {
        "个人编号": [hr_key(n) for n in p["hr_no"][pids].tolist()],
        "社会保障号码": _ids(world, pids),
        "姓名": p["name"][pids].tolist(),
        "性别": _sex_text(world, pids),
        "出生年月": [f"{a}{b:02d}" for a, b in zip(y.tolist(), m.tolist(), strict=True)],
        "民族": eth,
        "参保险种": [r.scheme for r in rows],
        "参保状态": [HR_INSURANCE_STATES[r.ins] for r in rows],
        "就业状态": [HR_EMPLOYMENT[r.emp] for r in rows],
        "单位名称": [emp[r.employer] if r.employer >= 0 else None for r in rows],
        "联系电话": _phones(world, pids),
        "通讯地址": [],
        "变更类型": [r.op for r in rows],
        "变更日期": _compact(np.array([r.day for r in rows], dtype=np.int64)),
    }
    ended = np.array([r.op == "注销" for r in rows], dtype=bool)
    ex = Extract(
        "hr_insured",
        file_name("hr_insured", end, part),
        list(values),
        values,
        values["个人编号"],
        p["hr_no"][pids],
        version=round_no * 10 + (part or 0),
        **_truth_arrays(world, pids, p["res_b"][pids], ended),
    )
    ex.addresses["通讯地址"] = (p["res_b"][pids], p["res_flat"][pids])
    ex.dates["出生年月"] = ("ym", p["birth"][pids])
    ex.no_dirt = clean
    ex.change_kinds = [r.kind for r in rows]
    ex.change_details = details
    return ex
