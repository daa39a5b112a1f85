"""Loading the generator's YAML configuration (world.yml, dirt.yml) shipped in the package.

Config lives in YAML rather than code so that rates and vocabularies can be tuned and
documented without a code change; the files are read at every run.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import yaml

GENERATOR_VERSION = "1.1.0"


@cache
def _load(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def world_config() -> dict[str, Any]:
    """The world model (world.yml)."""
    return _load("world.yml")


def month_config(change_scale: float = 1.0) -> dict[str, Any]:
    """The world model with the month's event rates multiplied by ``change_scale``.

    Why: a benchmark needs a round of a chosen size (say 1 % of the rows) that is still a real
    month: the same kinds of events delivered the same way, only fewer of them. The rates that
    scale are listed in world.yml ``change_scaled_rates``; the other ``monthly:`` values are
    shares of an event that happened anyway (a whole household moving out) and stay as they are.
    """
    if change_scale <= 0:
        raise ValueError("change_scale must be positive")
    cfg = world_config()
    if change_scale == 1.0:
        return cfg
    out = copy.deepcopy(cfg)
    for key in cfg["change_scaled_rates"]:
        out["monthly"][key] = float(cfg["monthly"][key]) * change_scale
    return out


def dirt_config() -> dict[str, Any]:
    """The dirt kinds and rates (dirt.yml)."""
    return _load("dirt.yml")


def dirt_rates() -> dict[str, dict[str, float]]:
    """Effective rate of every dirt kind per dataset (0 where the kind does not apply)."""
    cfg = dirt_config()
    out: dict[str, dict[str, float]] = {}
    for dataset in cfg["columns"]:
        rates: dict[str, float] = {}
        for kind, spec in cfg["kinds"].items():
            allowed = spec.get("datasets")
            rate = 0.0 if allowed and dataset not in allowed else float(spec["rate"])
            rate = float(cfg.get("dataset_rates", {}).get(dataset, {}).get(kind, rate))
            rates[kind] = rate
        out[dataset] = rates
    return out
