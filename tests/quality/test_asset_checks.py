"""The ingest assets declare the gate's checks, so the Dagster UI shows each one's result."""

from __future__ import annotations

import yaml
from siheyuan.contracts import load_contracts
from siheyuan.defs.ingest_assets import ingest_assets
from siheyuan.quality.config import expectations_dir


def _blocking_from_yaml(dataset: str, kind: str) -> dict[str, bool]:
    """The blocking flag of every check, read from the reviewed YAML itself (not the code)."""
    raw = yaml.safe_load((expectations_dir() / f"{dataset}.yml").read_text(encoding="utf-8"))
    expected = {"intake": True, "structure": False, "quarantine_share": True}
    if kind == "snapshot" and raw["batch"].get("max_row_drop_share") is not None:
        expected["row_count_change"] = True
    if kind == "snapshot" and raw["batch"].get("warn_row_drop_share") is not None:
        expected["row_count_drop"] = False
    for e in raw.get("expectations", []):
        expected[e["check"]] = bool(e.get("blocking", False))
    return expected


def test_every_raw_asset_declares_its_checks_blocking_as_configured() -> None:
    contracts = load_contracts()
    assert len(ingest_assets) == len(contracts)
    for asset in ingest_assets:
        (key,) = asset.keys
        contract = contracts[key.path[-1]]
        specs = {spec.name: spec for spec in asset.check_specs}
        expected = _blocking_from_yaml(contract.dataset, contract.kind)
        assert {name: spec.blocking for name, spec in specs.items()} == expected
        assert expected["id_number_valid"]  # every dataset blocks a systematic ID fault
        assert all(spec.asset_key == key for spec in specs.values())
