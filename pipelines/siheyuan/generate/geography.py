"""The district's streets, communities, compounds (小区) and buildings, and where flats are.

Buildings are sized to their occupants (≈150-300 persons each) so that the number of
compounds and buildings scales with the requested population.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .state import Geography


def build(
    cfg: dict[str, Any], gen: np.random.Generator, occupancy: np.ndarray
) -> tuple[Geography, np.ndarray, np.ndarray]:
    """Lay out buildings for occupancy units (households / floating flats).

    ``occupancy`` holds the persons of each unit; returns the geography and, per unit, its
    building and flat code (unit * 10000 + floor * 100 + door).
    """
    d = cfg["district"]
    n_units = len(occupancy)
    total = int(occupancy.sum())
    lo, hi = d["persons_per_building"]
    n_b = max(1, round(total / ((lo + hi) / 2)))
    caps = gen.uniform(lo, hi, n_b)
    bounds = np.cumsum(caps / caps.sum() * total)
    order = gen.permutation(n_units)
    mid = np.cumsum(occupancy[order]) - occupancy[order] / 2
    unit_building = np.empty(n_units, dtype=np.int64)
    unit_building[order] = np.minimum(np.searchsorted(bounds, mid), n_b - 1)

    # flats per building
    counts = np.bincount(unit_building, minlength=n_b)
    doors = gen.integers(d["doors_per_floor"][0], d["doors_per_floor"][1] + 1, n_b)
    lo_f, hi_f = d["floors"]
    tall = gen.random(n_b) < float(d["tall_share"])
    target = np.where(
        tall, gen.integers(hi_f // 2, hi_f + 1, n_b), gen.integers(lo_f, hi_f // 2, n_b)
    )
    spare = gen.uniform(1.05, 1.35, n_b)
    need = np.maximum(counts, 1) * spare
    units = np.clip(
        np.ceil(need / (target * doors)), d["units_per_building"][0], d["units_per_building"][1]
    ).astype(np.int64)
    floors = np.maximum(2, np.ceil(need / (units * doors))).astype(np.int64)
    flat = np.empty(n_units, dtype=np.int64)
    by_building = np.argsort(unit_building, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    for b in range(n_b):
        members = by_building[starts[b] : starts[b + 1]]
        if len(members) == 0:
            continue
        cap = int(units[b] * floors[b] * doors[b])
        slots = gen.choice(cap, size=len(members), replace=False)
        flat[members] = flat_code(slots, int(floors[b]), int(doors[b]))

    geo = _compounds(cfg, gen, n_b, units, floors, doors)
    return geo, unit_building, flat


def flat_code(slots: np.ndarray, floors: int, doors: int) -> np.ndarray:
    """Flat codes for slot numbers 0..units*floors*doors-1 of one building."""
    unit = slots // (floors * doors) + 1
    floor = (slots // doors) % floors + 1
    door = slots % doors + 1
    return unit * 10000 + floor * 100 + door


def random_flats(geo: Geography, gen: np.random.Generator, buildings: np.ndarray) -> np.ndarray:
    """A random (possibly occupied) flat in each of the given buildings."""
    floors = geo.building_floors[buildings]
    doors = geo.building_doors[buildings]
    cap = geo.building_units[buildings] * floors * doors
    slots = (gen.random(len(buildings)) * cap).astype(np.int64)
    unit = slots // (floors * doors) + 1
    floor = (slots // doors) % floors + 1
    door = slots % doors + 1
    return unit * 10000 + floor * 100 + door


def _compounds(
    cfg: dict[str, Any],
    gen: np.random.Generator,
    n_b: int,
    units: np.ndarray,
    floors: np.ndarray,
    doors: np.ndarray,
) -> Geography:
    d = cfg["district"]
    streets = list(d["streets"])
    communities: list[str] = []
    community_street: list[int] = []
    for si, s in enumerate(streets):
        for c in d["streets"][s]["communities"]:
            communities.append(c)
            community_street.append(si)
    lo, hi = d["buildings_per_compound"]
    sizes: list[int] = []
    while sum(sizes) < n_b:
        sizes.append(int(gen.integers(lo, hi + 1)))
    sizes[-1] -= sum(sizes) - n_b
    n_c = len(sizes)
    names = [p + s for p in d["compound_prefixes"] for s in d["compound_suffixes"]]
    names = [names[i] for i in gen.permutation(len(names))]
    phases = ["", "二期", "三期", "四期", "五期", "六期", "七期", "八期", "九期"]
    compound_name = [names[i % len(names)] + phases[min(i // len(names), 8)] for i in range(n_c)]
    street_cycle = gen.permutation(len(streets))
    compound_street = [int(street_cycle[i % len(streets)]) for i in range(n_c)]
    used: dict[str, set[int]] = {}
    compound_road: list[str] = []
    compound_number: list[int] = []
    compound_community: list[int] = []
    for si in compound_street:
        roads = d["streets"][streets[si]]["roads"]
        road = roads[int(gen.integers(len(roads)))]
        taken = used.setdefault(road, set())
        number = int(gen.integers(1, d["road_number_max"]))
        while number in taken:
            number = number % d["road_number_max"] + 1
        taken.add(number)
        compound_road.append(road)
        compound_number.append(number)
        options = [i for i, cs in enumerate(community_street) if cs == si]
        compound_community.append(options[int(gen.integers(len(options)))])
    building_compound = np.repeat(np.arange(n_c), sizes)
    building_no = np.concatenate([np.arange(1, s + 1) for s in sizes])
    return Geography(
        streets,
        communities,
        community_street,
        compound_name,
        compound_road,
        compound_number,
        compound_street,
        compound_community,
        building_compound,
        building_no,
        units,
        floors,
        doors,
    )
