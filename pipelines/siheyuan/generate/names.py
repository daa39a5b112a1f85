"""Person names: surnames by real frequency, popular and composed given names, Uyghur names.

Popular given names are drawn often on purpose so that 张伟, 王芳 and 李娜 repeat many times:
the hub must not link people on name alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class NameMaker:
    """Draws names from the vocabularies in world.yml."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.surnames = list(cfg["surnames"])
        w = np.array(list(cfg["surnames"].values()), dtype=float)
        self.surname_p = w / w.sum()
        g = cfg["given_names"]
        self.common_share = float(g["common_share"])
        self.two_char_share = float(g["two_char_share"])
        self.modern_from = int(g["modern_from_year"])
        self.lists = {}
        for era in ("common", "modern"):
            for sex in ("male", "female"):
                names = list(g[era][sex])
                weights = np.array(list(g[era][sex].values()), dtype=float)
                self.lists[era, sex] = (np.array(names, dtype=object), weights / weights.sum())
        self.chars = {
            sex: np.array(list(g["chars"][sex]), dtype=object) for sex in ("male", "female")
        }
        self.uyghur = {sex: np.array(g["uyghur"][sex], dtype=object) for sex in ("male", "female")}

    def surname_draw(self, gen: np.random.Generator, n: int) -> np.ndarray:
        """``n`` surnames by frequency."""
        idx = gen.choice(len(self.surnames), size=n, p=self.surname_p)
        return np.array(self.surnames, dtype=object)[idx]

    def given(
        self, gen: np.random.Generator, male: np.ndarray, birth_year: np.ndarray
    ) -> np.ndarray:
        """Given names for people of the given sex and birth year."""
        n = len(male)
        out = np.empty(n, dtype=object)
        modern = birth_year >= self.modern_from
        use_list = gen.random(n) < self.common_share
        for sex_name, sex_mask in (("male", male), ("female", ~male)):
            for era, era_mask in (("common", ~modern), ("modern", modern)):
                idx = np.flatnonzero(use_list & sex_mask & era_mask)
                names, p = self.lists[era, sex_name]
                out[idx] = names[gen.choice(len(names), size=len(idx), p=p)]
            idx = np.flatnonzero(~use_list & sex_mask)
            chars = self.chars[sex_name]
            first = chars[gen.integers(0, len(chars), len(idx))]
            second = chars[gen.integers(0, len(chars), len(idx))]
            two = gen.random(len(idx)) < self.two_char_share
            out[idx] = [a + b if t else a for a, b, t in zip(first, second, two, strict=True)]
        return out

    def uyghur_given(self, gen: np.random.Generator, male: np.ndarray) -> np.ndarray:
        """Own names of Uyghur people (the part before the dot)."""
        out = np.empty(len(male), dtype=object)
        for sex_name, mask in (("male", male), ("female", ~male)):
            idx = np.flatnonzero(mask)
            pool = self.uyghur[sex_name]
            out[idx] = pool[gen.integers(0, len(pool), len(idx))]
        return out

    def uyghur_father(self, gen: np.random.Generator, n: int) -> np.ndarray:
        """Fathers' names for Uyghur people whose father is not in the data."""
        pool = self.uyghur["male"]
        return pool[gen.integers(0, len(pool), n)]
