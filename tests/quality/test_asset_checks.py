"""The ingest assets declare the gate's checks, so the Dagster UI shows each one's result."""

from __future__ import annotations

from siheyuan.contracts import load_contracts
from siheyuan.defs.ingest_assets import ingest_assets
from siheyuan.quality.config import check_definitions


def test_every_raw_asset_declares_its_checks_blocking_as_configured() -> None:
    contracts = load_contracts()
    assert len(ingest_assets) == len(contracts)
    for asset in ingest_assets:
        (key,) = asset.keys
        contract = contracts[key.path[-1]]
        specs = {spec.name: spec for spec in asset.check_specs}
        expected = {d.name: d.blocking for d in check_definitions(contract)}
        assert {name: spec.blocking for name, spec in specs.items()} == expected
        assert specs["intake"].blocking and not specs["structure"].blocking
        assert all(spec.asset_key == key for spec in specs.values())
