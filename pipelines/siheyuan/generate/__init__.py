"""Synthetic department extracts for one district, with dirt and ground truth.

``generate_sample(persons, seed, out, round_no)`` writes the landing files a run reads and the
truth a test compares against; see docs/generator.md.
"""

from .api import generate_sample
from .summary import FileSummary, GenerateSummary

__all__ = ["FileSummary", "GenerateSummary", "generate_sample"]
