"""Seeded randomness for the generator.

Two sources, both pure functions of the user's seed:

* ``rng(seed, *path)`` — a numpy Generator for one purpose (building the world, one month of
  change, the dirt of one file).  Separate streams mean that adding a draw in one step never
  shifts the numbers another step sees, so round K reproduces round K-1's world exactly.
* ``hash_uniform(seed, *parts)`` — a counter-based uniform in [0, 1) per record.  Dirt and
  corrections are decided per source record this way, so a record keeps the same dirty value
  from one snapshot to the next without the generator having to remember anything.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def rng(seed: int, *path: int) -> np.random.Generator:
    """A generator for one named purpose (``path``) under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, path)]))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic is intended)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def hash_u64(seed: int, *parts: int | np.ndarray) -> np.ndarray:
    """64-bit hash of ``seed`` and the parts (scalars or equal-length non-negative int arrays)."""
    with np.errstate(over="ignore"):
        h = _mix(np.atleast_1d(np.asarray(int(seed) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)))
        for part in parts:
            p = np.atleast_1d(np.asarray(part)).astype(np.uint64)
            h = _mix(h ^ (p + _GOLDEN))
    return h


def hash_uniform(seed: int, *parts: int | np.ndarray) -> np.ndarray:
    """Uniform [0, 1) floats, one per element of the parts."""
    return (hash_u64(seed, *parts) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def hash_int(seed: int, n: int, *parts: int | np.ndarray) -> np.ndarray:
    """Integers in [0, n), one per element of the parts."""
    return (hash_u64(seed, *parts) % np.uint64(n)).astype(np.int64)
