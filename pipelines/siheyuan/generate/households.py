"""Household and floating-group structure: who lives with whom, relations, sexes and ages.

This is the one place with a Python loop per household: family structure (twins, 长子/次女,
in-laws, grandchildren's surnames) is much clearer as code than as array algebra, and at
~400k households for a million persons it still runs in a few seconds.  Attributes that do
not depend on the family (names, ID numbers, phones) are drawn vectorised afterwards.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

YEAR = 365.2425


@dataclass
class Skeleton:
    """Per-person lists describing family structure (indexes are person ids)."""

    hh: list[int] = field(default_factory=list)  # household index, -1 for floating
    group: list[int] = field(default_factory=list)  # floating group index, -1 otherwise
    rel: list[int] = field(default_factory=list)  # GB/T 4761 code, 0 for floating
    male: list[bool] = field(default_factory=list)
    birth: list[int] = field(default_factory=list)  # day number
    surname_of: list[int] = field(default_factory=list)  # copy surname from this person, -1 own
    eth_of: list[int] = field(default_factory=list)  # copy ethnicity from this person, -1 draw
    region_of: list[int] = field(default_factory=list)  # copy region, -1 draw, -2 local birth
    mother: list[int] = field(default_factory=list)
    father: list[int] = field(default_factory=list)
    twin_of: list[int] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)  # floating: 居住事由
    hh_type: list[str] = field(default_factory=list)  # household type name, per household
    group_type: list[str] = field(default_factory=list)  # floating group type, per group

    def add(self, **kw: Any) -> int:
        pid = len(self.hh)
        self.hh.append(kw.get("hh", -1))
        self.group.append(kw.get("group", -1))
        self.rel.append(kw.get("rel", 0))
        self.male.append(kw["male"])
        self.birth.append(kw["birth"])
        self.surname_of.append(kw.get("surname_of", -1))
        self.eth_of.append(kw.get("eth_of", -1))
        self.region_of.append(kw.get("region_of", -1))
        self.mother.append(kw.get("mother", -1))
        self.father.append(kw.get("father", -1))
        self.twin_of.append(kw.get("twin_of", -1))
        self.reason.append(kw.get("reason", ""))
        return pid


def _birth(r: random.Random, today: int, age: float) -> int:
    return today - int(max(age, 0.02) * YEAR) - r.randrange(0, 30)


def _children_codes(r: random.Random, sexes: list[bool], generic: bool) -> list[int]:
    """Relation codes for the head's children, eldest first."""
    if generic:
        return [20 if m else 30 for m in sexes]
    if len(sexes) == 1:
        return [21 if sexes[0] else 31]
    codes = []
    sons = daughters = 0
    for m in sexes:
        if m:
            sons += 1
            codes.append(22 if sons == 1 else 23)
        else:
            daughters += 1
            codes.append(32 if daughters == 1 else 33)
    return codes


def registered(cfg: dict[str, Any], r: random.Random, n_target: int, today: int) -> Skeleton:
    """Registered households until ``n_target`` persons exist (the last one may be cut short)."""
    sk = Skeleton()
    types = cfg["household_types"]
    cum = []
    total = 0.0
    for t in types:
        total += float(t["weight"])
        cum.append(total)
    twin_share = float(cfg["twin_share"])
    generic_share = float(cfg["generic_child_code_share"])
    h = 0
    while len(sk.hh) < n_target:
        t = r.choices(types, cum_weights=cum)[0]
        members = t["members"]
        has_spouse = "spouse" in members
        head_male = r.random() < (
            0.72 if has_spouse else (0.3 if t["name"] == "single_parent" else 0.5)
        )
        lo, hi = t["head_age"]
        head_age = r.uniform(lo, hi)
        if t["name"] == "three_generations":
            head_age = max(head_age, 50.0)
        head = sk.add(hh=h, rel=2, male=head_male, birth=_birth(r, today, head_age))
        sk.hh_type.append(t["name"])
        spouse = -1
        spouse_age = 0.0
        if has_spouse:
            spouse_age = min(max(head_age + r.gauss(-2.0 if head_male else 2.0, 2.5), 19.0), 99.0)
            spouse = sk.add(
                hh=h,
                rel=10,
                male=not head_male,
                birth=_birth(r, today, spouse_age),
                eth_of=head if r.random() < 0.85 else -1,
            )
        father_pid = head if head_male else spouse
        mother_pid = spouse if head_male else head
        mother_age = spouse_age if head_male else head_age
        if mother_pid < 0:
            mother_age = head_age
        n_children = members.count("child")
        child_pids: list[int] = []
        if n_children:
            ages: list[float] = []
            first = mother_age - r.uniform(23, 37)
            if first < 0:
                first = r.uniform(0.05, max(0.1, mother_age - 22))
            if t["name"] == "three_generations":
                first = max(first, 24.0 + r.random() * 6)
            ages.append(first)
            twins = n_children == 2 and r.random() < twin_share
            if n_children == 2:
                ages.append(first if twins else max(first - r.uniform(1.5, 8), 0.03))
            sexes = [r.random() < 0.515 for _ in ages]
            codes = _children_codes(r, sexes, r.random() < generic_share)
            single_parent = spouse < 0
            own_surname = single_parent and not head_male and r.random() < 0.5
            birth0 = _birth(r, today, ages[0])
            for i, (age, m, code) in enumerate(zip(ages, sexes, codes, strict=True)):
                surname_src = -1 if own_surname else (father_pid if father_pid >= 0 else head)
                eth_src = father_pid if father_pid >= 0 and r.random() < 0.7 else head
                b = birth0 if (i == 1 and twins) else _birth(r, today, age)
                pid = sk.add(
                    hh=h,
                    rel=code,
                    male=m,
                    birth=b,
                    surname_of=surname_src,
                    eth_of=eth_src,
                    region_of=-2,
                    mother=mother_pid,
                    father=father_pid,
                    twin_of=child_pids[0] if (i == 1 and twins) else -1,
                )
                child_pids.append(pid)
        for role in members:
            if role in ("spouse", "child"):
                continue
            if role in ("father", "mother", "parent"):
                m = role == "father" or (role == "parent" and r.random() < 0.4)
                age = min(head_age + r.uniform(23, 36), 99.5)
                sk.add(
                    hh=h,
                    rel=51 if m else 52,
                    male=m,
                    birth=_birth(r, today, age),
                    surname_of=head if m else -1,
                    eth_of=head,
                    region_of=head,
                )
            elif role == "child_spouse":
                child = child_pids[0]
                child_male = sk.male[child]
                child_age = (today - sk.birth[child]) / YEAR
                cs_age = max(child_age + r.gauss(2.0 if not child_male else -2.0, 2.0), 20.0)
                cs = sk.add(
                    hh=h,
                    rel=38 if child_male else 28,
                    male=not child_male,
                    birth=_birth(r, today, cs_age),
                )
                mother_age2 = cs_age if child_male else child_age
                g_age = mother_age2 - r.uniform(23, 35)
                if g_age < 0:
                    g_age = r.uniform(0.05, 3)
                if "grandchild" in members:
                    gm = r.random() < 0.515
                    dad = child if child_male else cs
                    mum = cs if child_male else child
                    code = 40 if r.random() < generic_share / 2 else (41 if gm else 42)
                    sk.add(
                        hh=h,
                        rel=code,
                        male=gm,
                        birth=_birth(r, today, g_age),
                        surname_of=dad,
                        eth_of=dad,
                        region_of=-2,
                        mother=mum,
                        father=dad,
                    )
            elif role == "grandchild" and "child_spouse" not in members:
                gm = r.random() < 0.515
                age = min(max(head_age - r.uniform(50, 65), 0.1), 17.0)
                src = (head if head_male else spouse) if r.random() < 0.7 else -1
                sk.add(
                    hh=h,
                    rel=41 if gm else 42,
                    male=gm,
                    birth=_birth(r, today, age),
                    surname_of=src,
                    eth_of=head,
                    region_of=-2,
                )
            elif role == "sibling":
                age = max(head_age + r.uniform(-10, 10), 18.0)
                sk.add(
                    hh=h,
                    rel=70,
                    male=r.random() < 0.5,
                    birth=_birth(r, today, age),
                    surname_of=head,
                    eth_of=head,
                    region_of=head,
                )
            elif role == "other":
                sk.add(
                    hh=h,
                    rel=80,
                    male=r.random() < 0.5,
                    birth=_birth(r, today, r.uniform(10, 85)),
                    eth_of=head,
                )
            elif role == "nonrelative":
                sk.add(
                    hh=h, rel=99, male=r.random() < 0.5, birth=_birth(r, today, r.uniform(18, 70))
                )
        h += 1
    return sk


def floating(
    cfg: dict[str, Any], r: random.Random, n_target: int, today: int, sk: Skeleton
) -> None:
    """Floating-population groups appended to ``sk`` until it holds ``n_target`` more persons."""
    fcfg = cfg["floating"]
    groups = fcfg["groups"]
    cum = []
    total = 0.0
    for g in groups:
        total += float(g["weight"])
        cum.append(total)
    start = len(sk.hh)
    gi = 0
    while len(sk.hh) - start < n_target:
        g = r.choices(groups, cum_weights=cum)[0]
        lo, hi = g["age"]
        age = r.uniform(lo, hi)
        male = r.random() < (0.6 if g["name"] in ("worker", "trader") else 0.5)
        first = sk.add(group=gi, male=male, birth=_birth(r, today, age), reason=g["reason"])
        sk.group_type.append(g["name"])
        if "spouse" in g["members"]:
            s_age = max(age + r.gauss(-2.0 if male else 2.0, 2.5), 19.0)
            spouse = sk.add(
                group=gi,
                male=not male,
                birth=_birth(r, today, s_age),
                eth_of=first if r.random() < 0.9 else -1,
                region_of=first if r.random() < 0.8 else -1,
                reason=g["reason"],
            )
            if "child" in g["members"]:
                dad, mum = (first, spouse) if male else (spouse, first)
                mum_age = s_age if male else age
                c_age = min(max(mum_age - r.uniform(22, 35), 0.3), 17.0)
                cm = r.random() < 0.515
                reason = "就学" if c_age >= 6 and r.random() < 0.5 else fcfg["child_reason"]
                sk.add(
                    group=gi,
                    male=cm,
                    birth=_birth(r, today, c_age),
                    surname_of=dad,
                    eth_of=dad,
                    region_of=dad,
                    mother=mum,
                    father=dad,
                    reason=reason,
                )
        gi += 1
