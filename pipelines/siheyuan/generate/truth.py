"""Ground truth written beside (never inside) the landing folder: who every record really is."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from .address import AddressBook
from .dates import from_day
from .extracts import Extract
from .idcard import id18_strings
from .state import STATUS_NAMES, World

RECORD_COLUMNS = [
    "dataset",
    "source_key",
    "file_name",
    "person_id",
    "true_id_number",
    "household_truth_id",
    "building_truth_id",
    "record_state",
]


def person_id(pid: int) -> str:
    return f"P{pid:08d}"


def household_id(h: int) -> str:
    return f"H{h:07d}" if h >= 0 else ""


def building_id(b: int) -> str:
    return f"B{b:05d}" if b >= 0 else ""


class RecordsWriter:
    """Streams records.csv: one line per (dataset, source key, file), the last row winning."""

    def __init__(self, path: Path) -> None:
        self._f = path.open("w", encoding="utf-8", newline="")
        self._w = csv.writer(self._f, lineterminator="\n")
        self._w.writerow(RECORD_COLUMNS)

    def add(self, world: World, ex: Extract) -> None:
        last: dict[str, int] = {}
        for i, k in enumerate(ex.keys):
            last[k.strip()] = i
        idx = np.array(sorted(last.values()), dtype=np.int64)
        if len(idx) == 0:
            return
        pids = ex.person[idx]
        ids = id18_strings(world.persons["id17"][pids])
        hh = ex.household[idx].tolist()
        bl = ex.building[idx].tolist()
        ended = ex.ended[idx].tolist()
        for j, i in enumerate(idx.tolist()):
            self._w.writerow(
                [
                    ex.dataset,
                    ex.keys[i].strip(),
                    ex.file_name,
                    person_id(int(pids[j])),
                    ids[j],
                    household_id(hh[j]),
                    building_id(bl[j]),
                    "ended" if ended[j] else "active",
                ]
            )

    def close(self) -> None:
        self._f.close()


def _write(path: Path, header: list[str], rows: Any) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_world(world: World, book: AddressBook, truth_dir: Path, hukou_key: Any) -> list[Path]:
    """persons.csv, households.csv and buildings.csv."""
    p = world.persons
    created = np.flatnonzero(p["created_round"] <= world.round_no)
    ids = id18_strings(p["id17"][created])
    birth = p["birth"][created].astype("datetime64[D]").astype(str).tolist()
    sd = p["status_day"][created].tolist()
    persons = (
        (
            person_id(i),
            idn,
            p["name"][i],
            int(p["sex"][i]),
            b,
            f"{int(p['eth'][i]):02d}",
            household_id(int(p["hh"][i])),
            f"{int(p['rel'][i]):02d}" if p["rel"][i] > 0 else "",
            building_id(int(p["reg_b"][i])),
            building_id(int(p["res_b"][i])),
            STATUS_NAMES[int(p["status"][i])],
            int(bool(p["floating"][i])),
            from_day(s).isoformat() if s > 0 and p["status"][i] != 0 else "",
        )
        for i, idn, b, s in zip(created.tolist(), ids, birth, sd, strict=True)
    )
    out = []
    path = truth_dir / "persons.csv"
    _write(
        path,
        [
            "person_id",
            "id_number",
            "name",
            "sex_code",
            "birth_date",
            "ethnicity_code",
            "household_truth_id",
            "relation_code",
            "registered_building_truth_id",
            "residence_building_truth_id",
            "status",
            "is_floating",
            "status_date",
        ],
        persons,
    )
    out.append(path)
    h = world.households
    path = truth_dir / "households.csv"
    _write(
        path,
        ["household_truth_id", "hukou_number", "head_person_id", "building_truth_id"],
        (
            (
                household_id(i),
                hukou_key(int(h["hukou_no"][i])),
                person_id(int(h["head"][i])),
                building_id(int(h["reg_b"][i])),
            )
            for i in range(len(h))
        ),
    )
    out.append(path)
    geo = world.geo
    path = truth_dir / "buildings.csv"
    rows = []
    for b in range(geo.n_buildings):
        street, community, road, number, compound = book.building_parts(b)
        rows.append(
            (
                building_id(b),
                book.province,
                book.city,
                book.district,
                street,
                community,
                road,
                number,
                compound,
                f"{int(geo.building_no[b])}幢",
            )
        )
    _write(
        path,
        [
            "building_truth_id",
            "province",
            "city",
            "district",
            "street",
            "community",
            "road",
            "road_number",
            "compound",
            "building_no",
        ],
        rows,
    )
    out.append(path)
    return out


def write_changes(path: Path, rows: list[tuple[int, str, str, str, str, str]]) -> None:
    """changes.csv: one line per (person, change, record) the month produced.

    ``detail``: for reregistered / renumbered the record's previous key, for corrected what
    was fixed ("role:kind", ';'-joined), for a member who left an assisted family
    "member_left"; else empty.
    """
    _write(
        path,
        ["person_id", "change_kind", "dataset", "source_key", "file_name", "detail"],
        ((person_id(p), k, d, key, f, x) for p, k, d, key, f, x in rows),
    )


def write_dirt(path: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    """dirt.csv: every injected dirt, by dataset, source key and column."""
    _write(path, ["dataset", "source_key", "column", "dirt_kind", "file_name"], rows)


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    path.write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
