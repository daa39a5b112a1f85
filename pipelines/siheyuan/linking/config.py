"""The linking thresholds (``linking.yml`` next to this file), validated.

Thresholds are configuration, not code: raising ``auto_link_weight`` trades recall for precision
and is a reviewed change to a data file. A file that cannot be used stops the run with one line
naming it (``ConfigurationError``), as the source contracts and quality settings do.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from siheyuan.linking.backend import BackendSettings
from siheyuan.linking.cluster import Thresholds
from siheyuan.settings import ConfigurationError

SETTINGS_PATH = Path(__file__).with_name("linking.yml")


class IncrementalSettings(BaseModel):
    """``linking.yml`` → ``incremental``: the pair cache of ``siheyuan.linking.incremental``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    #: pairs are cached down to review_weight - margin_weight (match-weight bits)
    margin_weight: float = Field(3.0, gt=0)
    #: above this share of changed records the run predicts everything from scratch
    max_delta_share: float = Field(0.25, gt=0, le=1)


class LinkingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(1, ge=1, le=1)
    auto_link_weight: float
    review_weight: float
    ambiguity_margin: float = Field(ge=0)
    distinct_within: list[str] = Field(default_factory=list)
    m_floor: dict[str, float] = Field(default_factory=dict)
    backend: BackendSettings = Field(default_factory=BackendSettings)
    incremental: IncrementalSettings = Field(default_factory=IncrementalSettings)

    @model_validator(mode="after")
    def _ordered(self) -> LinkingSettings:
        if self.review_weight > self.auto_link_weight:
            raise ValueError("review_weight must not exceed auto_link_weight")
        return self

    def thresholds(self) -> Thresholds:
        return Thresholds(
            auto_link_weight=self.auto_link_weight,
            review_weight=self.review_weight,
            ambiguity_margin=self.ambiguity_margin,
            distinct_within=frozenset(self.distinct_within),
        )


def load_settings(path: Path = SETTINGS_PATH) -> LinkingSettings:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return LinkingSettings.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        first = str(exc).strip().splitlines()
        raise ConfigurationError(f"{path}: {' '.join(first[:3])}") from exc


@cache
def linking_settings() -> LinkingSettings:
    return load_settings()
