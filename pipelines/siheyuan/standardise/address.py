"""Free-text addresses to standard parts (省 市 区 街道 社区 路+号 小区 楼栋 单元 室).

Departments write the same flat in many ways: with or without 浙江省 / 杭州市 / 西湖区 / the
街道, compound first, a 社区 inserted, 三号楼 / 3号楼 / 3栋 / 3幢, the ``金都花园3-2-501``
shorthand, full-width digits and stray spaces. ``parse_address`` reads one text left to right
in the standard order; it never guesses a part that is not written: what it cannot read is
left empty and the status says why. Placing the address on a building (and filling parts an
abbreviated address leaves out) needs every address of the run and lives in
``address_gazetteer``.

Province, city and district names come from the GB/T 2260 seed, so an address that names
another district (a floating resident's 户籍地 elsewhere) is recognised as elsewhere and never
placed on a home building; the suffixes of the lower levels are in ``address_rules.yml``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .address_numerals import NUMBER, to_digits
from .codes import seed_rows

RULES_PATH = Path(__file__).with_name("address_rules.yml")

# parse_address statuses (address_gazetteer adds the placement statuses)
PARSED = "parsed"  # down to a building, in the home district
EMPTY = "empty"  # nothing left after removing spaces and punctuation
ELSEWHERE = "elsewhere"  # names a province, city or district that is not the hub's
NO_BUILDING = "no_building"  # no N幢 / N栋 / N号楼 / N-N-N building
SHORTHAND_AMBIGUOUS = "shorthand_ambiguous"  # 3-501: building-room or unit-room?
COMPOUND_UNCLEAR = "compound_unclear"  # what stands before the building is not a compound name

# AddressParts.doubt: why a COMPOUND_UNCLEAR address that was read down to the room may still be
# placed by the gazetteer (when the run confirms the compound name)
ADMIN_LEAD = "admin_lead"  # the compound starts with a GB/T 2260 name or short form (杭州花园)


@dataclass(frozen=True)
class Home:
    """The district the hub serves (dbt vars home_province / home_city / home_district)."""

    province: str
    city: str
    district: str


@dataclass(slots=True)
class AddressParts:
    """One address read into standard parts; None where the text does not say.

    Mutable on purpose: ``address_gazetteer.place`` fills the gaps and the key in place
    (a run parses ~10^5 texts, and copying frozen dataclasses was most of the time).
    """

    address: str
    normalised: str
    status: str
    province: str | None = None
    city: str | None = None
    district: str | None = None
    district_defaulted: bool = False
    street: str | None = None
    community: str | None = None
    road: str | None = None
    road_number: str | None = None  # digits only; the 号 is the standard's, not the data's
    compound: str | None = None
    building_no: str | None = None
    unit_no: str | None = None
    room_no: str | None = None
    building_form: str | None = None  # standard (N幢…) | shorthand (N-N-N)
    inference: str | None = None  # road_inferred | compound_inferred (set by the gazetteer)
    doubt: str | None = None  # ADMIN_LEAD: compound_unclear unless the run confirms the compound
    building_key: str | None = None  # set by the gazetteer


@cache
def rules() -> dict[str, Any]:
    with RULES_PATH.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def _alt(words: list[str]) -> str:
    """Regex alternation, longest first so 号楼 wins over a shorter suffix it ends with."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    r = rules()
    building = _alt(r["building_suffixes"])
    unit, room = _alt(r["unit_suffixes"]), _alt(r["room_suffixes"])
    return {
        # a street name holds no level word of 省 市 区 县: 广西南宁市西乡… is not a 乡
        "street": re.compile(
            rf"[^\d号路街巷省市区县]{{1,{r['max_street_chars']}}}?(?:{_alt(r['street_suffixes'])})"
        ),
        "community": re.compile(
            rf"[^\d号路街巷]{{1,{r['max_community_chars']}}}?(?:{_alt(r['community_suffixes'])})"
        ),
        # a village only counts as a community when a house number (not a building) follows
        "village": re.compile(
            rf"[^\d号路街巷]{{1,{r['max_community_chars']}}}?(?:{_alt(r['village_suffixes'])})"
            rf"(?=(?:[^\d号]{{1,{r['max_road_chars']}}}?(?:{_alt(r['road_suffixes'])}))?\d+号(?!楼))"
        ),
        "road": re.compile(
            rf"(?P<road>[^\d号]{{1,{r['max_road_chars']}}}?(?:{_alt(r['road_suffixes'])}))"
            rf"(?P<num>{NUMBER})号"
        ),
        # compound, then building N幢 [N单元] [N室]; the compound is the shortest head that
        # leaves a well-formed tail, so 金都花园二期3幢 keeps 二期 in the compound
        "standard": re.compile(
            rf"(?P<compound>.*?)(?P<b>{NUMBER})(?:{building})-?"
            rf"(?:(?P<u>{NUMBER})(?:{unit})-?)?"
            rf"(?:(?P<r>{NUMBER})(?:{room})?)?"
        ),
        "house_number": re.compile(rf"(?P<num>{NUMBER})号"),
        # a road number, a level word, a dash, a building (金都花园3幢3幢) or a house number's
        # tail (77号之一…) in the compound: a prefix or a number this parser did not read
        "not_compound": re.compile(
            rf"\d+号|{_alt(r['not_in_compound'])}|{NUMBER}(?:{building})"
            rf"|^(?:{'|'.join(r['not_compound_start'])})"
        ),
        "levels": re.compile(
            _alt(r["street_suffixes"] + r["community_suffixes"] + r["village_suffixes"])
        ),
        "admin_word": re.compile(_alt(r["compound_admin_chars"])),
        "admin_word_ok": re.compile("|".join(r["compound_admin_ok"])),
        "shorthand": re.compile(rf"(?P<compound>.*?)(?P<b>\d+)-(?P<u>\d+)-(?P<r>\d+)(?:{room})?"),
        "shorthand2": re.compile(rf"(?P<compound>.*?)(?P<b>\d+)-(?P<r>\d+)(?:{room})?"),
    }


@cache
def _fold_table() -> dict[int, str | None]:
    r = rules()
    return {ord(c): "-" for c in r["dash_chars"]} | {ord(c): None for c in r["drop_chars"]}


_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), no whitespace, no punctuation, one dash."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).translate(_fold_table()))


@dataclass(frozen=True)
class _Names:
    """Names of one level, looked up by the longest one a text starts with.

    ``full`` maps every name to its full form: a short form (浙江 for 浙江省, 杭州 for 杭州市)
    maps to the full one and is only taken where the next level's name follows it, so a
    compound called 杭州花园 is never read as a city.
    """

    full: dict[str, str]
    short: frozenset[str]
    lengths: dict[str, tuple[int, ...]]  # first character -> name lengths, longest first

    @classmethod
    def of(cls, names: set[str], short: dict[str, str]) -> _Names:
        full = {n: n for n in names} | {k: v for k, v in short.items() if k not in names}
        lengths: dict[str, set[int]] = {}
        for n in full:
            lengths.setdefault(n[0], set()).add(len(n))
        by_char = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}
        return cls(full, frozenset(full) - names, by_char)

    def leading(self, text: str, short_ok: bool = True) -> str | None:
        """The longest name (a short form only if ``short_ok``) that ``text`` starts with."""
        for n in self.lengths.get(text[:1], ()):
            name = text[:n]
            if name in self.full and (short_ok or name not in self.short):
                return name
        return None


@dataclass(frozen=True)
class _Admin:
    provinces: _Names
    cities: _Names
    districts: _Names

    def level(
        self, names: _Names, text: str, below: tuple[_Names, ...], short_alone: bool = False
    ) -> tuple[str | None, int]:
        """The full name of ``names`` ``text`` starts with, and its written length.

        A short form counts only where a level of ``below`` follows it, unless ``short_alone``
        (the home city's district short forms: 余杭金都花园 is 余杭区's, whatever follows).
        """
        written = names.leading(text, short_ok=False)
        if written is None:
            written = names.leading(text)
            after = text[len(written or "") :]
            if written and not short_alone and not any(b.leading(after) for b in below):
                written = None
        if not written:
            return None, 0
        n = len(written)
        if written == names.full[written] and text[n:].startswith(written):
            n += len(written)  # 西湖区西湖区: the same full name typed twice is read once
        return names.full[written], n

    def leads(self, text: str) -> bool:
        """Whether ``text`` starts with a name or short form of any level (杭州…, 浙江…)."""
        return any(n.leading(text) for n in (self.provinces, self.cities, self.districts))


# GB/T 2260 rows that are groupings, not places an address names
_NOT_PLACES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@cache
def _regions() -> tuple[tuple[str, str], ...]:
    """(code, name) of the GB/T 2260 seed rows that name a place (current and historic)."""
    rows = ((row["code"], row["name"].strip()) for row in seed_rows("gbt2260_region"))
    return tuple((code, name) for code, name in rows if name and name not in _NOT_PLACES)


@cache
def admin_names() -> tuple[set[str], set[str], set[str]]:
    """Province, prefecture and county-level names of the GB/T 2260 seed (current and historic)."""
    prov, city, dist = set(), set(), set()
    for code, name in _regions():
        if code.endswith("0000"):
            prov.add(name)
        elif code.endswith("00"):
            city.add(name)
        else:
            dist.add(name)
    return prov, city, dist


def neighbour_districts(home: Home) -> set[str]:
    """The home city's other county-level names in the seed (上城区, 余杭区, 桐庐县, 余杭县…)."""
    regions = _regions()
    province = {c[:2] for c, name in regions if c.endswith("0000") and name == home.province}
    city = {c[:4] for c, name in regions if name == home.city and c[:2] in province
            and c.endswith("00") and not c.endswith("0000")}  # fmt: skip
    return {n for c, n in regions if c[:4] in city and not c.endswith("00") and n != home.district}


def _short_forms(names: set[str], suffixes: list[str]) -> dict[str, str]:
    """浙江 -> 浙江省, 杭州 -> 杭州市: the name without its level word (two characters left)."""
    out: dict[str, str] = {}
    for suf in suffixes:  # in the rules' order: 阜阳 is 阜阳市 before the historic 阜阳地区
        for n in sorted(names):
            if n.endswith(suf) and len(n) - len(suf) >= 2:
                out.setdefault(n[: -len(suf)], n)
    return out


@cache
def _known(home: Home) -> _Admin:
    """The GB/T 2260 names plus the home ones (a home district newer than the seed)."""
    r = rules()
    prov, city, dist = admin_names()
    prov, city, dist = prov | {home.province}, city | {home.city}, dist | {home.district}
    home_short = set(_short_forms({home.district}, r["district_suffixes"]))
    near = _short_forms(neighbour_districts(home), r["district_suffixes"])
    return _Admin(
        _Names.of(prov, r["province_short_forms"] | _short_forms(prov, r["province_suffixes"])),
        _Names.of(city, _short_forms(city, r["city_suffixes"])),
        _Names.of(dist, {k: v for k, v in near.items() if k not in home_short}),
    )


def _admin_prefix(text: str, home: Home) -> tuple[str | None, str | None, str | None, int]:
    """Province, city and district written at the start, and where the rest begins."""
    a = _known(home)
    province, pos = a.level(a.provinces, text, (a.cities, a.districts))
    city, n = a.level(a.cities, text[pos:], (a.districts,))
    pos += n
    district, n = a.level(a.districts, text[pos:], (), short_alone=True)
    if district and not text[pos:].startswith(district) and _road_named_from(text[pos:]):
        district, n = None, 0  # 余杭塘路351号: a home road named after 余杭, not 余杭区
    if district and text[pos + n :].startswith(("社区", "小区")):
        district, n = None, 0  # …区社区 / …区小区: a community's or compound's name
    return province, city, district, pos + n


def _road_named_from(text: str) -> bool:
    """Whether ``text`` starts with a road + number whose name holds no street or community."""
    m = _patterns()["road"].match(text)
    return m is not None and _patterns()["levels"].search(m.group("road")) is None


def parse_address(text: str, home: Home) -> AddressParts:
    """Read one address into standard parts (see the module docstring)."""
    norm = normalise(text)
    a = AddressParts(address=text, normalised=norm, status=PARSED)
    if not norm:
        a.status = EMPTY
        return a
    province, city, district, pos = _admin_prefix(norm, home)
    elsewhere = (
        (province is not None and province != home.province)
        or (city is not None and city != home.city)
        or (district is not None and district != home.district)
    )
    if elsewhere:
        a.province, a.city, a.district = province, city, district
    else:  # written or not, the province and city of a home address are the home ones
        a.province, a.city, a.district = home.province, home.city, home.district
        a.district_defaulted = district is None
    p = _patterns()
    rest = norm[pos:]
    if m := p["street"].match(rest):
        a.street, rest = m.group(0), rest[m.end() :]
    if m := (p["community"].match(rest) or p["village"].match(rest)):
        a.community, rest = m.group(0), rest[m.end() :]
    if m := p["road"].match(rest):
        a.road, a.road_number, rest = m.group("road"), to_digits(m.group("num")), rest[m.end() :]
    elif a.community and (m := p["house_number"].fullmatch(rest)):
        a.road_number, rest = to_digits(m.group("num")), ""  # 张庄村12号: a house, no road
    if elsewhere:
        # the compound is kept (without its building) so the gazetteer knows the name is
        # written elsewhere: 金都花园3幢 alone is not put at home when only 余杭区 has one
        m = p["shorthand"].fullmatch(rest) or p["standard"].fullmatch(rest)
        a.status, a.compound = ELSEWHERE, (m.group("compound") if m else rest) or None
        return a
    _building(a, rest, home)
    return a


def _building(a: AddressParts, rest: str, home: Home) -> None:
    """Compound, building, unit and room from what follows the road (or the first level)."""
    p = _patterns()
    m, form = p["shorthand"].fullmatch(rest), "shorthand"
    if m is None:
        m, form = p["standard"].fullmatch(rest), "standard"
    if m is None:
        ambiguous = p["shorthand2"].fullmatch(rest)
        a.status = SHORTHAND_AMBIGUOUS if ambiguous else NO_BUILDING
        a.compound = (ambiguous.group("compound") if ambiguous else rest) or None
        return
    g = m.groupdict()
    a.compound = g["compound"] or None
    if a.compound and _unclear(a.compound):
        # a road number or a level word left over: a prefix this parser could not read, and a
        # building key made of it would be a building nobody else's address can match
        a.status = COMPOUND_UNCLEAR
        return
    a.building_no = to_digits(g["b"])
    a.unit_no = to_digits(g.get("u"))
    a.room_no = to_digits(g.get("r"))
    a.building_form = form
    if a.compound and a.road is None and _known(home).leads(a.compound):
        # 杭州金都花园 / 浙江花园: a short admin name the parser could not take as a level, or a
        # compound's real name? Only the run can say (address_gazetteer); after the road and
        # number the compound starts where the road ends, so there it is the name
        a.status, a.doubt = COMPOUND_UNCLEAR, ADMIN_LEAD


def _unclear(compound: str) -> bool:
    """Whether a compound name holds what no compound name does (see address_rules.yml)."""
    p = _patterns()
    if len(compound) > rules()["max_compound_chars"] or p["not_compound"].search(compound):
        return True
    return p["admin_word"].search(p["admin_word_ok"].sub("", compound)) is not None
