"""Every address of a run placed on a building, with a gazetteer learned from the run itself.

A compound (小区) fronts one road and number, and lies in one street and community. The fully
written addresses of a run say which; an abbreviated one (``金都花园3幢…``, or ``丰潭社区金都
花园…``) borrows the parts it leaves out from them, so all spellings of a building share one
key and the building master gets its full parts.

The key is ``district|compound|building_no``: the road is an attribute, so an abbreviated
address keeps its key when the road is written elsewhere (building ids must be stable). Only
when one compound name stands at two road numbers of the district (two compounds, same name)
does the road join the compound part of the key, and an address that names neither road is
left unplaced (``compound_ambiguous``) rather than put in either.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .address import PARSED, AddressParts, Home, parse_address

# placement statuses (parse_address's non-PARSED statuses pass through unchanged)
OK = "ok"  # every part needed for the key is written
OK_ROAD_INFERRED = "ok_road_inferred"  # compound only; road + number from the gazetteer
OK_ROAD_UNKNOWN = "ok_road_unknown"  # compound only; no address of the run names its road
OK_COMPOUND_INFERRED = "ok_compound_inferred"  # road + number only; compound from the gazetteer
NO_COMPOUND = "no_compound"  # a building, but no compound and none known at that road number
COMPOUND_AMBIGUOUS = "compound_ambiguous"  # compound name at two road numbers, none written

PLACED = frozenset({OK, OK_ROAD_INFERRED, OK_ROAD_UNKNOWN, OK_COMPOUND_INFERRED})
STATUSES = (
    *sorted(PLACED),
    NO_COMPOUND,
    COMPOUND_AMBIGUOUS,
    "no_building",
    "shorthand_ambiguous",
    "compound_unclear",
    "elsewhere",
    "empty",
)


@dataclass
class Gazetteer:
    """What the fully written addresses of a run say about each compound of a district."""

    roads: dict[tuple[str, str], Counter[tuple[str, str]]]  # (district, compound) -> roads
    compounds: dict[tuple[str, str, str], Counter[str]]  # (district, road, number) -> compounds
    streets: dict[tuple[str, str], Counter[str]]  # (district, compound) -> streets
    communities: dict[tuple[str, str], Counter[str]]  # (district, compound) -> communities

    @classmethod
    def learn(cls, parsed: Iterable[AddressParts]) -> Gazetteer:
        g = cls(
            defaultdict(Counter), defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
        )
        for a in parsed:
            if a.status != PARSED or a.district is None:
                continue
            if a.compound and a.road and a.road_number:
                g.roads[a.district, a.compound][a.road, a.road_number] += 1
                g.compounds[a.district, a.road, a.road_number][a.compound] += 1
            if a.compound and a.street:
                g.streets[a.district, a.compound][a.street] += 1
            if a.compound and a.community:
                g.communities[a.district, a.compound][a.community] += 1
        return g

    def ambiguous(self, district: str, compound: str) -> bool:
        return len(self.roads.get((district, compound), ())) > 1


def _only(counter: Counter[Any] | None) -> Any:
    """The single value a counter holds, else None (two values are two places, not a vote)."""
    return next(iter(counter)) if counter and len(counter) == 1 else None


def place(a: AddressParts, g: Gazetteer) -> AddressParts:
    """Fill an abbreviated address's gaps from the gazetteer and give it its building key.

    Changes ``a`` in place (and returns it); only PARSED addresses are touched.
    """
    if a.status != PARSED:
        return a
    d = a.district
    assert d is not None  # PARSED addresses are in the home district
    if a.compound is None:
        a.compound = _only(g.compounds.get((d, a.road or "", a.road_number or "")))
        if a.compound is None:
            a.status = NO_COMPOUND
            return a
        a.inference = "compound_inferred"
    compound = a.compound
    if a.road is None:
        if g.ambiguous(d, compound):
            a.status = COMPOUND_AMBIGUOUS
            return a
        road = _only(g.roads.get((d, compound)))
        if road is not None:
            a.road, a.road_number = road
            a.inference = "road_inferred"
    a.street = a.street or _only(g.streets.get((d, compound)))
    a.community = a.community or _only(g.communities.get((d, compound)))
    key_compound = compound
    if g.ambiguous(d, compound):
        key_compound = f"{a.road}{a.road_number}号{compound}"
    if a.inference == "compound_inferred":
        a.status = OK_COMPOUND_INFERRED
    elif a.inference == "road_inferred":
        a.status = OK_ROAD_INFERRED
    else:
        a.status = OK if a.road is not None else OK_ROAD_UNKNOWN
    a.building_key = f"{d}|{key_compound}|{a.building_no}"
    return a


def standardise_addresses(texts: Iterable[str], home: Home) -> list[AddressParts]:
    """Parse every distinct address of a run, learn the gazetteer, place each address."""
    parsed = [parse_address(t, home) for t in dict.fromkeys(texts)]
    g = Gazetteer.learn(parsed)
    return [place(a, g) for a in parsed]


# int_addresses columns, in order (the model's contract with int_resident_records and building)
TABLE_COLUMNS = {
    "address": "address",
    "address_normalised": "normalised",
    "province": "province",
    "city": "city",
    "district": "district",
    "district_defaulted": "district_defaulted",
    "street": "street",
    "community": "community",
    "road": "road",
    "road_number": "road_number",
    "compound": "compound",
    "building_no": "building_no",
    "unit_no": "unit_no",
    "room_no": "room_no",
    "building_form": "building_form",
    "inference": "inference",
    "parse_status": "status",
    "building_key": "building_key",
}


def address_table(texts: Iterable[str], home: Home) -> pd.DataFrame:
    """``standardise_addresses`` as the int_addresses table (one row per distinct text)."""
    rows = [
        [getattr(a, f) for f in TABLE_COLUMNS.values()] for a in standardise_addresses(texts, home)
    ]
    df = pd.DataFrame(rows, columns=list(TABLE_COLUMNS), dtype=object)
    df["district_defaulted"] = df["district_defaulted"].astype(bool)
    return df
