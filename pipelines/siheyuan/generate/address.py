"""Address text for buildings and flats, canonical and in the variants departments write.

Canonical (standard order, as registered):
    浙江省杭州市西湖区文新街道学院路77号金都花园3幢2单元501室
Variants are driven by a style per row so the truth knows exactly which building is meant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .state import Geography

DIGITS_CN = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..99 in Chinese numerals (三, 十二, 二十四)."""
    if n < 10:
        return DIGITS_CN[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else DIGITS_CN[tens]
    return head + "十" + (DIGITS_CN[ones] if ones else "")


@dataclass(frozen=True)
class Style:
    """How one address is written (0 everywhere = canonical)."""

    prefix: int = 0  # 0 full; drop 1 省, 2 省市, 3 省市区, 4 +街道, 5 +road (compound first)
    numeral: int = 0  # 0 3幢, 1 三幢, 2 3号楼, 3 3栋, 4 三号楼
    shorthand: bool = False
    community: bool = False


class AddressBook:
    """Renders addresses of the district's buildings."""

    def __init__(self, geo: Geography, province: str, city: str, district: str) -> None:
        self.geo = geo
        self.province, self.city, self.district = province, city, district
        c = geo.building_compound
        self.b_street = [geo.streets[geo.compound_street[i]] for i in c.tolist()]
        self.b_community = [geo.communities[geo.compound_community[i]] for i in c.tolist()]
        self.b_road = [f"{geo.compound_road[i]}{geo.compound_number[i]}号" for i in c.tolist()]
        self.b_compound = [geo.compound_name[i] for i in c.tolist()]
        self.b_no = geo.building_no.tolist()
        self.canonical_head = [
            f"{province}{city}{district}{s}{r}{cp}{n}幢"
            for s, r, cp, n in zip(
                self.b_street, self.b_road, self.b_compound, self.b_no, strict=True
            )
        ]

    def canonical(self, buildings: np.ndarray, flats: np.ndarray) -> list[str]:
        """Canonical addresses of flats (fast path, no styling)."""
        heads = self.canonical_head
        return [
            f"{heads[b]}{f // 10000}单元{f % 10000}室"
            for b, f in zip(buildings.tolist(), flats.tolist(), strict=True)
        ]

    def building_text(self, b: int) -> str:
        """Canonical address down to the building (for truth and examples)."""
        return self.canonical_head[b]

    def styled(self, b: int, flat: int, style: Style) -> str:
        """One address written in the given style."""
        parts = [self.province, self.city, self.district, self.b_street[b]]
        lead = "".join(parts[min(style.prefix, 4) :])
        if style.community:
            lead += self.b_community[b]
        road = "" if style.prefix >= 5 else self.b_road[b]
        n = self.b_no[b]
        unit, room = flat // 10000, flat % 10000
        if style.shorthand:
            return f"{lead}{road}{self.b_compound[b]}{n}-{unit}-{room}"
        num = chinese_number(n) if style.numeral in (1, 4) else str(n)
        suffix = ("幢", "幢", "号楼", "栋", "号楼")[style.numeral]
        return f"{lead}{road}{self.b_compound[b]}{num}{suffix}{unit}单元{room}室"

    def building_parts(self, b: int) -> tuple[str, str, str, str, str]:
        """street, community, road, road number, compound of a building."""
        g = self.geo
        c = int(g.building_compound[b])
        return (
            self.b_street[b],
            self.b_community[b],
            g.compound_road[c],
            f"{g.compound_number[c]}号",
            g.compound_name[c],
        )
