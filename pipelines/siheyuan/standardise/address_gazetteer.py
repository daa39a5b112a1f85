"""Every address of a run placed on a building, with a gazetteer learned from the run itself.

A compound (小区) fronts one road and number, and lies in one street and community. The fully
written addresses of a run say which; an abbreviated one (``金都花园3幢…``, or ``丰潭社区金都
花园…``) borrows the parts it leaves out from them, so all spellings of a building share one
key and the building master gets its full parts.

The key is ``district|compound|building_no``: the road is an attribute, so an abbreviated
address keeps its key when the road is written elsewhere (building ids must be stable).

A road is believed for a compound by its support (distinct texts, ``road_min_texts`` and
``road_min_share`` in address_rules.yml): one mistyped road number (学院路78号 among twenty
学院路77号) is flagged ``road_conflict`` and moves nothing. Only when two roads each have that
support does one compound name stand for two compounds: then the road joins the compound part
of the key, and an address that names neither road is left unplaced (``compound_ambiguous``).
When no road has it (one text each), every address of the compound naming a road is
``road_conflict`` and the compound-only ones ``compound_ambiguous``: a typo cannot be told
from the truth.

A compound enters the building master only once some address of the run writes it after its
road and number (at home): a compound-only address of a compound never written in full is
``compound_elsewhere`` when an address elsewhere (余杭区…金都花园) names it, else
``compound_unconfirmed`` — a misspelt or mis-read compound would otherwise be a building of its
own, and a record on it a false placement.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .address import (
    ADMIN_LEAD,
    COMPOUND_UNCLEAR,
    ELSEWHERE,
    PARSED,
    AddressParts,
    Home,
    parse_address,
    rules,
)

# placement statuses (parse_address's non-PARSED statuses pass through unchanged)
OK = "ok"  # every part needed for the key is written
OK_ROAD_INFERRED = "ok_road_inferred"  # compound only; road + number from the gazetteer
OK_COMPOUND_INFERRED = "ok_compound_inferred"  # road + number only; compound from the gazetteer
NO_COMPOUND = "no_compound"  # a building, but no compound and none known at that road number
COMPOUND_AMBIGUOUS = "compound_ambiguous"  # compound at two believed roads (or none), none written
ROAD_CONFLICT = "road_conflict"  # names a road the run does not believe for the compound
COMPOUND_ELSEWHERE = "compound_elsewhere"  # compound only; written in full only elsewhere
COMPOUND_UNCONFIRMED = "compound_unconfirmed"  # compound only; never written after its road

PLACED = frozenset({OK, OK_ROAD_INFERRED, OK_COMPOUND_INFERRED})
STATUSES = (
    *sorted(PLACED),
    NO_COMPOUND,
    COMPOUND_AMBIGUOUS,
    ROAD_CONFLICT,
    COMPOUND_ELSEWHERE,
    COMPOUND_UNCONFIRMED,
    "no_building",
    "shorthand_ambiguous",
    "compound_unclear",
    "elsewhere",
    "empty",
)

Road = tuple[str, str]  # (road, number)


def believed_roads(support: Counter[Road]) -> frozenset[Road]:
    """The roads of one compound the run believes: a lone road, else those with the support.

    Support is the number of distinct texts naming the road; two roads that both have it are
    two compounds of one name, a road without it beside one with it is a typo, and two or more
    roads of which none has it are a conflict nobody can settle (nothing believed).
    """
    if len(support) <= 1:
        return frozenset(support)
    r = rules()
    total = sum(support.values())
    return frozenset(
        road
        for road, n in support.items()
        if n >= r["road_min_texts"] and n >= r["road_min_share"] * total
    )


@dataclass
class Gazetteer:
    """What the fully written addresses of a run say about each compound of a district."""

    roads: dict[tuple[str, str], Counter[Road]]  # (district, compound) -> texts per road
    believed: dict[tuple[str, str], frozenset[Road]]  # (district, compound) -> believed roads
    compounds: dict[tuple[str, str, str], Counter[str]]  # (district, road, number) -> compounds
    streets: dict[tuple[str, str], Counter[str]]  # (district, compound) -> streets
    communities: dict[tuple[str, str], Counter[str]]  # (district, compound) -> communities
    elsewhere: set[str] = field(default_factory=set)  # compounds named by elsewhere addresses

    @classmethod
    def learn(
        cls, parsed: Iterable[AddressParts], elsewhere: Iterable[AddressParts] = ()
    ) -> Gazetteer:
        """Learn from ``parsed`` (home facts and elsewhere names) and ``elsewhere`` (names only).

        ``elsewhere`` are texts that are not anyone's current address (a floating resident's
        户籍地): a mis-read one must not teach a home compound its road, but the compound names
        they write elsewhere are worth knowing.
        """
        parsed = list(parsed)
        g = cls(
            defaultdict(Counter),
            {},
            defaultdict(Counter),
            defaultdict(Counter),
            defaultdict(Counter),
        )
        home = [a for a in parsed if a.status == PARSED and a.district is not None and a.compound]
        for a in home:
            if a.road and a.road_number:
                g.roads[a.district, a.compound][a.road, a.road_number] += 1
        g.believed = {k: believed_roads(c) for k, c in g.roads.items()}
        for a in home:
            key = (a.district, a.compound)
            if a.road and a.road_number:
                if (a.road, a.road_number) not in g.believed[key]:
                    continue  # a road in conflict teaches nothing
                g.compounds[a.district, a.road, a.road_number][a.compound] += 1
            if a.street:
                g.streets[key][a.street] += 1
            if a.community:
                g.communities[key][a.community] += 1
        for a in (*parsed, *elsewhere):
            if a.status == ELSEWHERE and a.compound:
                g.elsewhere.add(a.compound)
        return g

    def confirmed(self, district: str, compound: str) -> bool:
        """Whether some address of the run writes the compound after a believed road."""
        return bool(self.believed.get((district, compound)))


def _only(counter: Counter[Any] | None) -> Any:
    """The single value a counter holds, else None (two values are two places, not a vote)."""
    return next(iter(counter)) if counter and len(counter) == 1 else None


def place(a: AddressParts, g: Gazetteer) -> AddressParts:
    """Fill an abbreviated address's gaps from the gazetteer and give it its building key.

    Changes ``a`` in place (and returns it); only PARSED addresses are placed, and a
    compound_unclear one whose compound merely starts with an admin name (杭州花园) when the
    run writes that compound after its road.
    """
    doubtful = a.status == COMPOUND_UNCLEAR and a.doubt == ADMIN_LEAD
    if doubtful and a.district and a.compound and g.confirmed(a.district, a.compound):
        a.status = PARSED
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
    believed = g.believed.get((d, compound))
    if a.road is not None and a.road_number is not None:
        if believed is not None and (a.road, a.road_number) not in believed:
            a.status = ROAD_CONFLICT
            return a
    elif believed is None:  # no address of the run writes the compound after a road
        a.status = COMPOUND_ELSEWHERE if compound in g.elsewhere else COMPOUND_UNCONFIRMED
        return a
    elif len(believed) != 1:
        a.status = COMPOUND_AMBIGUOUS
        return a
    else:
        (a.road, a.road_number), a.inference = next(iter(believed)), "road_inferred"
    a.street = a.street or _only(g.streets.get((d, compound)))
    a.community = a.community or _only(g.communities.get((d, compound)))
    key_compound = compound
    if believed is not None and len(believed) > 1:
        key_compound = f"{a.road}{a.road_number}号{compound}"
    if a.inference == "compound_inferred":
        a.status = OK_COMPOUND_INFERRED
    elif a.inference == "road_inferred":
        a.status = OK_ROAD_INFERRED
    else:
        a.status = OK
    a.building_key = f"{d}|{key_compound}|{a.building_no}"
    return a


def place_all(current: list[AddressParts], reference: list[AddressParts]) -> list[AddressParts]:
    """Learn the gazetteer from parsed addresses and place each one (current, then reference).

    ``current`` are current addresses (they teach the gazetteer); ``reference`` are other texts
    of the run, such as a floating resident's 户籍地, which are placed alike but teach only the
    compound names they write elsewhere.
    """
    g = Gazetteer.learn(current, reference)
    return [place(a, g) for a in (*current, *reference)]


def standardise_addresses(
    texts: Iterable[str], home: Home, reference: Iterable[str] = ()
) -> list[AddressParts]:
    """Parse every distinct address of a run, learn the gazetteer, place each address.

    The dbt model does the same from parts parsed once and cached (``address_cache``).
    """
    texts = list(dict.fromkeys(texts))
    seen = set(texts)
    parsed = [parse_address(t, home) for t in texts]
    others = [parse_address(t, home) for t in dict.fromkeys(reference) if t not in seen]
    return place_all(parsed, others)


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
TABLE_SCHEMA = pa.schema(
    [(c, pa.bool_() if c == "district_defaulted" else pa.string()) for c in TABLE_COLUMNS]
)


def table_of(placed: Iterable[AddressParts]) -> pa.Table:
    """Placed addresses as the int_addresses table (explicit types, also for an empty run)."""
    placed = list(placed)
    return pa.Table.from_pydict(
        {col: [getattr(a, f) for a in placed] for col, f in TABLE_COLUMNS.items()},
        schema=TABLE_SCHEMA,
    )


def address_table(texts: Iterable[str], home: Home, reference: Iterable[str] = ()) -> pa.Table:
    """``standardise_addresses`` as the int_addresses table (one row per distinct text)."""
    return table_of(standardise_addresses(texts, home, reference))
