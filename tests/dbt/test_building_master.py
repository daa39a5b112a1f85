"""The building master holds only buildings that records live on (or are registered at here).

Why: a floating resident's 户籍地 is parsed too (it says elsewhere, and which compound names
are written elsewhere), but it is not where anyone lives here; when one reads as a home
address it must not become a building of the hub. Runs the real dbt models up to ``building``
on the test_models fixture with one 户籍地 that looks like a home address.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from test_models import build_fixture, run_dbt

HOME_LOOKING = "学院路9号嘉绿苑8幢1单元101室"  # F002's 户籍地: no prefix, so read as home


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt_building")
    db = tmp / "siheyuan.duckdb"
    build_fixture(db)
    con = duckdb.connect(str(db))
    con.execute(
        'update raw.police_floating set "户籍地详址" = ? where _source_key = ?',
        [HOME_LOOKING, "F002"],
    )
    con.close()
    run_dbt(  # the models and seeds up to building; the marts' tests need the other marts
        db,
        tmp,
        "build",
        "--select",
        "+building",
        "+int_resident_records",
        "--resource-type",
        "model",
        "--resource-type",
        "seed",
    )
    return db


def test_a_registered_address_is_no_building(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (key,) = con.execute(
            "select building_key from intermediate.int_addresses where address = ?",
            [HOME_LOOKING],
        ).fetchone()
        assert key == "西湖区|嘉绿苑|8"  # placed like any text, so the mart must leave it out
        buildings = {
            k for (k,) in con.execute("select building_key from marts.building").fetchall()
        }
        lived_on = {
            k
            for (k,) in con.execute(
                "select distinct building_key from intermediate.int_resident_records"
                " where building_key is not null"
            ).fetchall()
        }
    finally:
        con.close()
    assert key not in buildings
    assert buildings == lived_on
    assert "西湖区|金都花园|3" in buildings
