"""Parse each address text once: the value cache behind ``int_std__addresses``.

An address text parses the same way in every run: ``parse_address`` reads only the text, the
hub's home district, ``address_rules.yml`` and the GB/T 2260 seed. Only the *placement* of an
abbreviated address depends on the run (the gazetteer learned from every fully written address),
so ``int_addresses`` still places every text each run, but from parts kept between runs: a
monthly batch brings a few thousand new texts among hundreds of thousands, and parsing them
all again was most of ``int_addresses``' time at a million persons (about 13 of 20 s).

A row is current when its ``std_version`` equals :func:`address_version`: the hash of the
standardisation modules (``incremental.std_version``), the address parser and its rules, and
the home district. Any change there re-parses every text, as for the other ``int_std__`` caches.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable
from dataclasses import fields
from functools import cache
from pathlib import Path

import pyarrow as pa

from .address import RULES_PATH, AddressParts, Home, parse_address
from .incremental import std_version

_PARSER_FILES = ("address.py", "address_numerals.py", "address_cache.py")

# what parse_address sets; inference and building_key are the gazetteer's, never cached
PARSE_FIELDS = tuple(
    f.name for f in fields(AddressParts) if f.name not in ("inference", "building_key")
)
_ALL_FIELDS = tuple(f.name for f in fields(AddressParts))
PARTS_SCHEMA = pa.schema(
    [
        ("address_raw", pa.string()),
        *[
            (name, pa.bool_() if name == "district_defaulted" else pa.string())
            for name in PARSE_FIELDS
            if name != "address"
        ],
        ("std_version", pa.string()),
    ]
)


def configured_home(
    model: str, province: str | None, city: str | None, district: str | None
) -> Home:
    """The hub's home district from a model's dbt config, or a clear error naming the model."""
    if not (province and city and district):
        raise ValueError(f"{model} needs config home_province/home_city/home_district")
    return Home(province, city, district)


@cache
def address_version(home: Home) -> str:
    """Short hash of everything that decides how a text parses for ``home``."""
    h = hashlib.sha256(std_version().encode())
    here = Path(__file__).resolve().parent
    for name in _PARSER_FILES:
        h.update((here / name).read_bytes())
    h.update(RULES_PATH.read_bytes())
    h.update(f"{home.province}|{home.city}|{home.district}".encode())
    return h.hexdigest()[:16]


def parts_table(texts: Iterable[str], home: Home) -> pa.Table:
    """Parse ``texts`` into the ``int_std__addresses`` rows (one per text, this version)."""
    parsed = [parse_address(t, home) for t in texts]
    columns: dict[str, list[object]] = {"address_raw": [a.address for a in parsed]}
    for name in PARSE_FIELDS:
        if name != "address":
            columns[name] = [getattr(a, name) for a in parsed]
    columns["std_version"] = [address_version(home)] * len(parsed)
    return pa.Table.from_pydict(columns, schema=PARTS_SCHEMA)


def parts_from_table(table: pa.Table) -> list[AddressParts]:
    """Cached rows back into ``AddressParts``, as ``parse_address`` returned them.

    Positional construction (the gazetteer's fields None), about a third faster than keywords
    for the ~10^6 texts of a large district; the cyclic garbage collector is paused meanwhile
    (it would scan the growing list again and again: 1.4 of 4.6 s at a million persons; the
    objects hold only strings, no cycles).
    """
    n = table.num_rows
    columns = [
        table.column("address_raw" if name == "address" else name).to_pylist()
        if name in PARSE_FIELDS
        else [None] * n
        for name in _ALL_FIELDS
    ]
    paused = gc.isenabled()
    gc.disable()
    try:
        return [AddressParts(*row) for row in zip(*columns, strict=True)]
    finally:
        if paused:
            gc.enable()
