"""The result of one generator run, for the CLI's summary table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FileSummary:
    """One written landing file: physical data rows (duplicates and empty rows included)."""

    path: Path
    dataset: str
    rows: int


@dataclass
class GenerateSummary:
    """What ``generate_sample`` wrote and how long it took."""

    persons: int
    seed: int
    round_no: int
    extract_date: str
    out: Path
    landing_dir: Path
    truth_dir: Path
    files: list[FileSummary] = field(default_factory=list)
    truth_files: list[Path] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def row_counts(self) -> dict[str, int]:
        """Rows per landing file, keyed by the path relative to the landing folder."""
        return {str(f.path.relative_to(self.landing_dir)): f.rows for f in self.files}

    def rows(self) -> list[tuple[str, str, int]]:
        """(file relative to the landing folder, dataset, rows) for a summary table."""
        return [(str(f.path.relative_to(self.landing_dir)), f.dataset, f.rows) for f in self.files]
