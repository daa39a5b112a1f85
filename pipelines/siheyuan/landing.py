"""Find the batches waiting in a landing folder and put them in the order they must be applied.

``<landing>/<department>/<dataset>_<YYYYMMDD>[_<seq>].<ext>``: a file is one batch; batches of one
dataset are applied in (extract date, seq) order. Files that match no contract are reported, never
guessed at.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from siheyuan.contracts import SourceContract


@dataclass(frozen=True)
class LandedFile:
    path: Path
    dataset: str
    department: str
    extract_date: date
    seq: int
    sha256: str

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def batch_id(self) -> str:
        """Unique per content: a corrected file under the same name is a different batch."""
        return f"{self.path.stem}.{self.sha256[:8]}"

    @property
    def order(self) -> tuple[date, int, str]:
        return (self.extract_date, self.seq, self.dataset)


@dataclass(frozen=True)
class UnrecognisedFile:
    path: Path
    reason: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=4096)
def _landed_sha256(path: Path, size: int, mtime_ns: int) -> str:
    """SHA-256 of a landed file, computed once per (path, size, mtime) in a process.

    A run discovers the landing folder to plan and again in each ingest asset; without this,
    every file (hundreds of MB at a million persons) would be read and hashed twice.
    """
    return file_sha256(path)


def _match(contract: SourceContract, path: Path) -> tuple[date, int] | str | None:
    """(date, seq) if ``path`` is a batch of ``contract``; a reason if it nearly is; else None."""
    m = contract.file_regex.match(path.name)
    if not m:
        return None
    try:
        extract_date = datetime.strptime(m["date"], "%Y%m%d").date()
    except ValueError:
        return f"impossible extract date {m['date']} in the file name"
    seq = int(m["seq"]) if m["seq"] else 0
    return extract_date, seq


def discover(
    landing: Path, contracts: dict[str, SourceContract], datasets: set[str] | None = None
) -> tuple[list[LandedFile], list[UnrecognisedFile]]:
    """Every batch file under ``landing`` (optionally only of ``datasets``), in apply order."""
    found: list[LandedFile] = []
    unknown: list[UnrecognisedFile] = []
    if not landing.is_dir():
        return found, unknown
    by_department: dict[str, list[SourceContract]] = {}
    for contract in contracts.values():
        if contract.file is None:
            continue  # a database source: pulled, never dropped (a file of it is unrecognised)
        by_department.setdefault(contract.department, []).append(contract)
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        if path.name.startswith("."):
            continue
        rel = path.relative_to(landing)
        department = rel.parts[0] if len(rel.parts) == 2 else None
        candidates = by_department.get(department or "", [])
        matched = False
        for contract in candidates:
            hit = _match(contract, path)
            if hit is None:
                continue
            matched = True
            if isinstance(hit, str):
                unknown.append(UnrecognisedFile(path, hit))
            elif datasets is None or contract.dataset in datasets:
                st = path.stat()
                found.append(
                    LandedFile(
                        path,
                        contract.dataset,
                        contract.department,
                        hit[0],
                        hit[1],
                        _landed_sha256(path, st.st_size, st.st_mtime_ns),
                    )
                )
            break
        if not matched:
            unknown.append(
                UnrecognisedFile(
                    path,
                    "not <department>/<dataset>_<YYYYMMDD>[_<seq>].<ext> of any source contract",
                )
            )
    found.sort(key=lambda f: f.order)
    return found, unknown
