"""Injecting the dirt real extracts carry, and logging exactly what went where.

Whether a value is dirty is a hash of (seed, dataset, record key, kind, column, version):
snapshots use version 0 so a record keeps its dirt from one delivery to the next until the
source corrects it (a per-value correction round, also hashed); deltas use the delivery as
version so every row sent is a fresh draw.  The detail of the dirt (which digit, which
variant) is hashed as well, so the same record is always dirtied the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .address import AddressBook, Style
from .config import dirt_config, dirt_rates, world_config
from .dates import ymd_parts
from .extracts import DS_INDEX, Extract
from .idcard import CHECK_CHARS, id18_strings
from .rand import hash_int, hash_uniform, rng

# stable codes for hashing (never reorder; append new kinds at the end)
KIND_CODE = {
    k: i + 1
    for i, k in enumerate(
        (
            "space_edge",
            "space_inner",
            "fullwidth",
            "id_lower_x",
            "id_bad_check",
            "id_transposed",
            "id_excel_numeric",
            "name_homophone",
            "name_dropped_char",
            "name_middle_dot",
            "date_other_format",
            "date_impossible",
            "phone_format",
            "address_no_prefix",
            "address_numeral",
            "address_shorthand",
            "address_with_community",
            "duplicate_row",
            "empty_row",
            "sex_unspecified",
            "id_15_digit",
            "duplicate_registration",
        )
    )
}
CELL_ORDER = (
    "id_bad_check",
    "id_transposed",
    "id_lower_x",
    "id_excel_numeric",
    "name_homophone",
    "name_dropped_char",
    "name_middle_dot",
    "date_impossible",
    "date_other_format",
    "phone_format",
    "sex_unspecified",
    "fullwidth",
    "space_inner",
    "space_edge",
)
ADDRESS_KINDS = (
    "address_no_prefix",
    "address_numeral",
    "address_shorthand",
    "address_with_community",
)
# kinds a delta source later corrects with a clean update row, and the role they hit
CORRECTABLE = (
    ("name_homophone", "name"),
    ("id_bad_check", "id"),
    ("id_transposed", "id"),
    ("date_impossible", "date"),
    ("date_other_format", "date"),
)
FIX_SALT = 999_983
REDRAW_SALT = 424_243
DETAIL_SALT = 7_777
FULLWIDTH = {
    c: chr(ord(c) + 0xFEE0)
    for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
}
DOT_VARIANTS = ("•", ".", "・", "")


@dataclass
class DirtLog:
    """What was injected (dirt.csv) and which dirty values were corrected now (changes.csv)."""

    rows: list[tuple[str, str, str, str, str]]  # dataset, key, column, kind, file
    corrected: list[tuple[int, str]]  # (row index, "role:kind" of the corrected dirt)


def correction_share(change_scale: float = 1.0) -> float:
    """Monthly chance that the source corrects a dirty delta value (scaled with the month)."""
    share = float(world_config()["monthly"]["correction_share"]) * change_scale
    return min(share, 1.0 - 1e-9)


def fix_rounds(
    seed: int, ds: int, key_int: np.ndarray, kind: str, col: int, change_scale: float = 1.0
) -> np.ndarray:
    """Round in which the source corrects a (record, kind, column) dirt: 2 + geometric."""
    f = hash_uniform(seed, ds, key_int, KIND_CODE[kind], col, FIX_SALT)
    share = correction_share(change_scale)
    return 2 + np.floor(np.log(np.maximum(f, 1e-300)) / math.log(1.0 - share)).astype(np.int64)


def snapshot_hits(
    seed: int,
    ds: int,
    key_int: np.ndarray,
    kind: str,
    col: int,
    rate: float,
    round_no: int,
    change_scale: float = 1.0,
) -> np.ndarray:
    """Dirty (record, kind, column) cells of a snapshot in a round.

    A cell's dirt is drawn once per window of ``dirt_window_months`` rounds (windows start at a
    per-cell offset), so it persists from delivery to delivery, gets corrected when its window
    ends, and the share of dirty cells stays the same from round to round. With a
    ``change_scale`` below 1 a window end redraws the cell only with that probability (else
    the cell keeps its dirt into the next window), so fewer cells change per month; round 1
    is the same whatever the scale.
    """
    if round_no < 1:
        return np.zeros(len(key_int), dtype=bool)
    window = int(dirt_config()["dirt_window_months"])
    code = KIND_CODE[kind]
    offset = hash_int(seed, window, ds, key_int, code, col, FIX_SALT)
    epoch = (round_no + offset) // window
    if change_scale < 1.0:
        epoch = (1 + offset) // window
        for k in range(2, round_no + 1):
            ends = (k + offset) % window == 0
            kept = hash_uniform(seed, ds, key_int, code, col, k, REDRAW_SALT) < change_scale
            epoch = np.where(ends & kept, (k + offset) // window, epoch)
    return hash_uniform(seed, ds, key_int, code, col, epoch + 1_000_000) < rate


def selection(
    seed: int, ex: Extract, kind: str, col: int, rate: float, round_no: int, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Rows hit by a kind in a column now, and rows whose earlier dirt is corrected now."""
    ds = DS_INDEX[ex.dataset]
    if ex.version == 0:
        hit = snapshot_hits(seed, ds, ex.key_int, kind, col, rate, round_no, scale)
        before = snapshot_hits(seed, ds, ex.key_int, kind, col, rate, round_no - 1, scale)
        corrected = before & ~hit
        if ex.new_rows is not None:  # a key first delivered now had no earlier value
            corrected &= ~ex.new_rows
    else:
        hit = hash_uniform(seed, ds, ex.key_int, KIND_CODE[kind], col, ex.version) < rate
        corrected = np.zeros(len(hit), dtype=bool)
    if ex.no_dirt is not None:
        hit &= ~ex.no_dirt
    return hit, corrected


def _detail(seed: int, ex: Extract, kind: str, col: int, idx: np.ndarray) -> list[int]:
    return hash_int(
        seed, 1 << 30, DS_INDEX[ex.dataset], ex.key_int[idx], KIND_CODE[kind], col, DETAIL_SALT
    ).tolist()


# ---- cell transforms: return the dirty value, or None when the kind does not apply -------


def _bad_check(v: Any, d: int) -> str | None:
    if not isinstance(v, str) or len(v) != 18 or not v[:17].isdigit():
        return None
    others = [c for c in CHECK_CHARS if c != v[17].upper()]
    return v[:17] + others[d % len(others)]


def _transposed(v: Any, d: int) -> str | None:
    if not isinstance(v, str) or len(v) != 18 or not v[:17].isdigit():
        return None
    spots = [i for i in range(6, 16) if v[i] != v[i + 1]]
    if not spots:
        return None
    i = spots[d % len(spots)]
    return v[:i] + v[i + 1] + v[i] + v[i + 2 :]


def _lower_x(v: Any, d: int) -> str | None:
    return v[:-1] + "x" if isinstance(v, str) and v.endswith("X") else None


def _excel_numeric(v: Any, d: int) -> float | None:
    if not isinstance(v, str) or len(v) != 18 or not v.isdigit():
        return None
    return float(format(float(v), ".15g"))


def _homophone(v: Any, d: int) -> str | None:
    if not isinstance(v, str):
        return None
    table = dirt_config()["homophones"]
    spots = [i for i, c in enumerate(v) if c in table]
    if not spots:
        return None
    i = spots[d % len(spots)]
    return v[:i] + table[v[i]] + v[i + 1 :]


def _dropped(v: Any, d: int) -> str | None:
    if not isinstance(v, str) or len(v) < 3 or "·" in v:
        return None
    i = 1 + d % (len(v) - 1)
    return v[:i] + v[i + 1 :]


def _middle_dot(v: Any, d: int) -> str | None:
    if not isinstance(v, str) or "·" not in v:
        return None
    return v.replace("·", DOT_VARIANTS[d % len(DOT_VARIANTS)])


def _phone(v: Any, d: int) -> str | None:
    if not isinstance(v, str) or not v:
        return None
    if v.startswith("0571-"):
        n = v[5:]
        return ("0571" + n, "0571 " + n, f"(0571){n}", "+86-571-" + n)[d % 4]
    if len(v) == 11 and v.isdigit():
        return (
            "+86 " + v,
            "+86" + v,
            f"{v[:3]}-{v[3:7]}-{v[7:]}",
            f"{v[:3]} {v[3:7]} {v[7:]}",
            "86-" + v,
        )[d % 5]
    return None


def _sex_unspecified(v: Any, d: int) -> str | None:
    return ("9", "0")[d % 2] if v in ("1", "2") else None


def _fullwidth(v: Any, d: int) -> str | None:
    if not isinstance(v, str) or not any(c in FULLWIDTH for c in v):
        return None
    return "".join(FULLWIDTH.get(c, c) for c in v)


def _space_inner(v: Any, d: int) -> str | None:
    if not isinstance(v, str) or len(v.strip()) < 2:
        return None
    i = 1 + d % (len(v) - 1)
    return v[:i] + " " + v[i:]


def _space_edge(v: Any, d: int) -> str | None:
    if not isinstance(v, str) or not v:
        return None
    return (" " + v, v + " ", "  " + v + " ", v + "\u3000")[d % 4]


TRANSFORMS = {
    "id_bad_check": _bad_check,
    "id_transposed": _transposed,
    "id_lower_x": _lower_x,
    "id_excel_numeric": _excel_numeric,
    "name_homophone": _homophone,
    "name_dropped_char": _dropped,
    "name_middle_dot": _middle_dot,
    "phone_format": _phone,
    "sex_unspecified": _sex_unspecified,
    "fullwidth": _fullwidth,
    "space_inner": _space_inner,
    "space_edge": _space_edge,
}


def _other_format(fmt: str, y: int, m: int, d: int, k: int) -> str:
    if fmt == "ymd":
        return (f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}", f"{y}.{m:02d}.{d:02d}")[k % 3]
    if fmt == "iso":
        return (f"{y}{m:02d}{d:02d}", f"{y}/{m}/{d}", f"{y}年{m}月{d}日")[k % 3]
    if fmt == "ym":
        return (f"{y}-{m:02d}", f"{y}年{m}月", f"{y}{m:02d}{d:02d}")[k % 3]
    return (f"{y}{m:02d}{d:02d}", f"{y}年{m}月{d}日", f"{y}.{m}.{d}")[k % 3]  # civil


def _impossible(fmt: str, y: int, k: int) -> str:
    m, d = ((2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31), (13, 1))[k % 7]
    if fmt == "ymd":
        return f"{y}{m:02d}{d:02d}"
    if fmt == "iso":
        return f"{y}-{m:02d}-{d:02d}"
    if fmt == "ym":
        return f"{y}{(13, 0)[k % 2]:02d}"
    return f"{y}/{m}/{d}"


def apply(
    ex: Extract, seed: int, round_no: int, book: AddressBook, change_scale: float = 1.0
) -> DirtLog:
    """Dirty the extract in place (address columns are rendered here) and log it.

    ``change_scale``: the world's (snapshot dirt is redrawn less often below 1).
    """
    cfg = dirt_config()
    rates = dirt_rates()[ex.dataset]
    roles: dict[str, list[str]] = cfg["columns"][ex.dataset]
    log = DirtLog([], [])
    keys = ex.keys
    fname = ex.file_name

    def col_index(col: str) -> int:
        return ex.columns.index(col) + 1

    # addresses: choose a style per row, then render
    for col in roles.get("address", []):
        b, flat = ex.addresses[col]
        ci = col_index(col)
        styles: dict[int, dict[str, Any]] = {}
        for kind in ADDRESS_KINDS:
            rate = rates.get(kind, 0.0)
            if rate <= 0:
                continue
            hit, corrected = selection(seed, ex, kind, ci, rate, round_no, change_scale)
            idx = np.flatnonzero(hit)
            for i, dd in zip(idx.tolist(), _detail(seed, ex, kind, ci, idx), strict=True):
                s = styles.setdefault(i, {})
                if kind == "address_no_prefix":
                    s["prefix"] = 1 + dd % 5
                elif kind == "address_numeral":
                    s["numeral"] = 1 + dd % 4
                elif kind == "address_shorthand":
                    s["shorthand"] = True
                else:
                    s["community"] = True
                log.rows.append((ex.dataset, keys[i], col, kind, fname))
            log.corrected.extend((int(i), f"address:{kind}") for i in np.flatnonzero(corrected))
        text = book.canonical(b, flat)
        bl, fl = b.tolist(), flat.tolist()
        for i, s in styles.items():
            text[i] = book.styled(bl[i], fl[i], Style(**s))
        ex.values[col] = text

    # cell kinds in a fixed order: meaning first (wrong digit), representation last (spaces)
    for kind in CELL_ORDER:
        rate = rates.get(kind, 0.0)
        if rate <= 0:
            continue
        for role in cfg["kinds"][kind]["roles"]:
            for col in roles.get(role, []):
                ci = col_index(col)
                hit, corrected = selection(seed, ex, kind, ci, rate, round_no, change_scale)
                idx = np.flatnonzero(hit)
                vals = ex.values[col]
                if kind in ("date_impossible", "date_other_format"):
                    _dates(ex, col, kind, idx, _detail(seed, ex, kind, ci, idx), log)
                else:
                    fn = TRANSFORMS[kind]
                    for i, dd in zip(idx.tolist(), _detail(seed, ex, kind, ci, idx), strict=True):
                        new = fn(vals[i], dd)
                        if new is not None:
                            vals[i] = new
                            log.rows.append((ex.dataset, keys[i], col, kind, fname))
                # a correction only counts where the kind could apply to the value at all
                fn = TRANSFORMS.get(kind)
                for i in np.flatnonzero(corrected).tolist():
                    v = vals[i]
                    if isinstance(v, str) and (fn is None or fn(v, 0) is not None):
                        log.corrected.append((i, f"{role}:{kind}"))
    return log


def _dates(
    ex: Extract, col: str, kind: str, idx: np.ndarray, detail: list[int], log: DirtLog
) -> None:
    fmt, days = ex.dates[col]
    vals = ex.values[col]
    y, m, d = ymd_parts(days[idx])
    for i, yy, mm, dd, k in zip(
        idx.tolist(), y.tolist(), m.tolist(), d.tolist(), detail, strict=True
    ):
        if not isinstance(vals[i], str):  # Excel date cells stay real dates
            continue
        vals[i] = (
            _impossible(fmt, yy, k)
            if kind == "date_impossible"
            else _other_format(fmt, yy, mm, dd, k)
        )
        log.rows.append((ex.dataset, ex.keys[i], col, kind, ex.file_name))


def row_plan(ex: Extract, seed: int, round_no: int, part: int) -> tuple[list[int], DirtLog]:
    """Physical row order: every row once, a few duplicated, a few empty rows (-1)."""
    rates = dirt_rates()[ex.dataset]
    ds = DS_INDEX[ex.dataset]
    n = len(ex)
    log = DirtLog([], [])
    version = round_no * 10 + part
    dup = np.flatnonzero(
        hash_uniform(seed, ds, ex.key_int, KIND_CODE["duplicate_row"], 0, version)
        < rates.get("duplicate_row", 0.0)
    )
    gen = rng(seed, 3, round_no, ds, part)
    n_empty = int(gen.binomial(n, rates.get("empty_row", 0.0))) if n else 0
    pos = np.concatenate(
        [
            np.arange(n, dtype=float),
            gen.uniform(0, max(n, 1), len(dup)),
            gen.uniform(0, max(n, 1), n_empty),
        ]
    )
    ids = np.concatenate([np.arange(n), dup, np.full(n_empty, -1)])
    order = ids[np.argsort(pos, kind="stable")].tolist()
    for i in dup.tolist():
        log.rows.append((ex.dataset, ex.keys[i], "", "duplicate_row", ex.file_name))
    for _ in range(n_empty):
        log.rows.append((ex.dataset, "", "", "empty_row", ex.file_name))
    return order, log


def delta_corrections(world: Any, dataset: str, round_no: int) -> dict[int, str]:
    """Persons whose round-1 delta row was dirty and whose source corrects it this round.

    Ascending by person, each with what is corrected ("role:kind", ';'-joined: name:
    name_homophone, id:id_bad_check, ...; empty when the drawn kind could not apply to the
    value, so the row only repeats clean values). Children whose first row had no ID
    (id_type 99) are left out, including those who got their ID since.
    """
    p = world.persons
    if dataset == "health_records":
        live = np.flatnonzero((p["arch_round"] == 1) & (p["arch_state"] == 1))
        key_int, version = p["archive"][live], 1
        columns = ["archive_no", "op", "name", "gender_code", "birth_date", "id_type", "id_no"]
    else:
        live = np.flatnonzero((p["hr_round"] == 1) & (p["hr_state"] == 1))
        key_int, version = p["hr_no"][live], 10
        columns = ["个人编号", "社会保障号码", "姓名", "性别", "出生年月"]
    roles = dirt_config()["columns"][dataset]
    rates = dirt_rates()[dataset]
    ds = DS_INDEX[dataset]
    due = np.zeros(len(live), dtype=bool)
    what: list[tuple[np.ndarray, str]] = []
    for kind, role in CORRECTABLE:
        col = roles[role][0]
        ci = columns.index(col) + 1
        hit = hash_uniform(world.seed, ds, key_int, KIND_CODE[kind], ci, version) < rates[kind]
        fix = fix_rounds(world.seed, ds, key_int, kind, ci, world.change_scale)
        now = hit & (fix == round_no)
        due |= now
        what.append((now, f"{role}:{kind}"))
    pos = np.flatnonzero(due)
    keep = p["status"][live[pos]] == 0
    if dataset == "health_records":
        first_noid = p["health_noid"][live[pos]] | (p["id_issued_round"][live[pos]] > 0)
        keep &= ~first_noid
    out: dict[int, str] = {}
    for i in pos[keep].tolist():
        pid = int(live[i])
        value = {"name": p["name"][pid], "id": id18_strings(p["id17"][pid : pid + 1])[0]}
        labels = [
            label
            for now, label in what
            if now[i] and _applies(label, value.get(label.split(":")[0]))
        ]
        # a hit that could not change the value was no dirt: the row is sent all the same
        out[pid] = ";".join(sorted(labels))
    return out


def _applies(label: str, value: Any) -> bool:
    """Whether a correctable kind changes this clean value at all (dates: always)."""
    fn = TRANSFORMS.get(label.split(":")[1])
    return value is None or fn is None or fn(value, 0) is not None
