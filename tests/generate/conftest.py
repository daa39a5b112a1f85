"""Shared generator runs for the tests (small populations so the whole module stays fast)."""

from __future__ import annotations

from pathlib import Path

import pytest
from siheyuan.generate import GenerateSummary, generate_sample


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> GenerateSummary:
    """Round 1 with 300 persons."""
    return generate_sample(persons=300, seed=5, out=tmp_path_factory.mktemp("small"), round_no=1)


@pytest.fixture(scope="session")
def dirt_run(tmp_path_factory: pytest.TempPathFactory) -> GenerateSummary:
    """Round 1 with 2,000 persons: enough rows for every dirt kind to show up."""
    return generate_sample(persons=2000, seed=42, out=tmp_path_factory.mktemp("dirt"), round_no=1)


@pytest.fixture(scope="session")
def rounds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[GenerateSummary]]:
    """Rounds 1-3 with 5,000 persons into one output folder."""
    out = tmp_path_factory.mktemp("rounds")
    return out, [generate_sample(persons=5000, seed=9, out=out, round_no=k) for k in (1, 2, 3)]
