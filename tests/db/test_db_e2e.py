"""Done when: HR served from PostgreSQL is pulled, checked and published exactly as the same
rows dropped as a file (the same resident ids), by ``siheyuan run``'s own code path.

Two warehouses, one shared id key (resident ids are keyed hashes; the key is random per
warehouse): A gets the generator's five files; B gets the same files except HR, whose rows sit in
a PostgreSQL table the HR contract (``SIHEYUAN_SOURCES``) declares as a database source. A's HR
file is dated today, as the pull is: where two departments disagree (a residence), the newer
delivery wins, so the same rows delivered on another day would rightly publish differently.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.parquet as pq
import pytest
from siheyuan.contracts import SOURCES_ENV, load_contracts
from siheyuan.publish import PUBLISHED_TABLES, read_current
from siheyuan.runner import run_job
from siheyuan.settings import WarehouseLayout
from siheyuan.warehouse import initialise

from db.helpers import HR_COLUMNS, READER_PASSWORD, PgServer, hr_rows, load_table, write_sources

pytestmark = pytest.mark.slow

URL_ENV = "SIHEYUAN_TEST_HR_DB_URL"
ID_KEY = "0f" * 32
# lineage that names where a row came from (a file or a pull) differs by design
LINEAGE_WORDS = ("batch", "file", "ingested", "apply_seq", "row_number", "extract_date")


def _warehouse(root: Path) -> WarehouseLayout:
    layout = WarehouseLayout(root)
    initialise(layout.database, load_contracts())
    with duckdb.connect(str(layout.database)) as conn:
        conn.execute("UPDATE meta.settings SET value = ? WHERE name = 'id_key'", [ID_KEY])
    return layout


def _published(layout: WarehouseLayout) -> dict[str, list[tuple]]:
    version = layout.published / str(read_current(layout))
    tables = {}
    for name in PUBLISHED_TABLES:
        table = pq.read_table(version / f"{name}.parquet")
        keep = [c for c in table.column_names if not any(w in c for w in LINEAGE_WORDS)]
        tables[name] = sorted(
            (
                tuple(_without_lineage(v) for v in r.values())
                for r in table.select(keep).to_pylist()
            ),
            key=repr,
        )
    return tables


def _without_lineage(value: object) -> object:
    """A finding's evidence names each record's batch: lineage too, so left out of the match."""
    if isinstance(value, list):
        return [_without_lineage(v) for v in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if not any(w in k for w in LINEAGE_WORDS)}
    return value


def _raw_hr(layout: WarehouseLayout) -> list[tuple]:
    columns = ", ".join(f'"{c}"' for c in HR_COLUMNS)
    with duckdb.connect(str(layout.database), read_only=True) as conn:
        sql = f'SELECT _source_key, _extract_date, {columns} FROM raw."hr_insured"'
        return sorted(conn.execute(sql).fetchall())


def test_hr_from_a_department_database_publishes_what_the_file_publishes(
    pg: PgServer, sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A: the generator's files, HR among them, dated today (the pull's extract date)
    landing_a = tmp_path / "landing_a"
    shutil.copytree(sample / "landing", landing_a)
    (hr_file,) = (landing_a / "hr").glob("hr_insured_*.csv")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    hr_file.rename(hr_file.with_name(f"hr_insured_{today}.csv"))
    files = _warehouse(tmp_path / "wh_files")
    report_a = run_job(landing_a, files.root)
    assert report_a.status == "published", report_a.message

    # B: HR in PostgreSQL (text columns, the department's own names), the other four as files
    rows = hr_rows(sample)
    admin = pg.admin_url.rsplit("/", 1)[0] + f"/hr?host={pg.socket_dir}"
    load_table(admin, "hr_insured_e2e", rows, HR_COLUMNS)
    sources = write_sources(
        tmp_path / "sources",
        {
            "hr_insured": {
                "url_env": URL_ENV,
                "table": "hr_insured_e2e",
                "columns": HR_COLUMNS,
                "watermark": {"column": "change_date", "overlap": "P7D"},
                "order_by": ["row_id"],  # the file's row order
            }
        },
    )
    landing = tmp_path / "landing_b"
    shutil.copytree(sample / "landing", landing, ignore=shutil.ignore_patterns("hr_insured_*"))
    monkeypatch.setenv(SOURCES_ENV, str(sources))
    monkeypatch.setenv(URL_ENV, pg.reader_url())
    pulled = _warehouse(tmp_path / "wh_pulled")
    report_b = run_job(landing, pulled.root)
    assert report_b.status == "published", report_b.message

    # the run applied the pull that planned it, without reading the source a second time
    run_log = (pulled.logs_dir / f"run-{report_b.run_id}.log").read_text(encoding="utf-8")
    assert "applying the pull read when the run was planned" in run_log
    assert READER_PASSWORD not in run_log

    hr_a = next(b for b in report_a.batches if b["dataset"] == "hr_insured")
    hr_b = next(b for b in report_b.batches if b["dataset"] == "hr_insured")
    assert hr_b["file_name"].startswith("hr_insured@db_")
    counts = ("status", "rows_received", "rows_accepted", "rows_quarantined", "rows_duplicate")
    assert [hr_b[c] for c in counts] == [hr_a[c] for c in counts]
    assert _raw_hr(pulled) == _raw_hr(files)
    published_a, published_b = _published(files), _published(pulled)
    assert published_b["resident"] == published_a["resident"]
    assert published_b["resident_source_xref"] == published_a["resident_source_xref"]
    for name in published_a:
        assert published_b[name] == published_a[name], name
    assert any(r[0] == "hr_insured" for r in published_b["resident_source_xref"])

    # pulled again, unchanged: nothing to apply, no run launched, CURRENT stays
    version = read_current(pulled)
    again = run_job(landing, pulled.root)
    assert (again.status, again.version, again.run_id) == ("nothing_new", version, None)
    assert again.message == "nothing new in the landing folder or the database sources"

    # the department's server refuses the password: one line naming the source, not a password
    monkeypatch.setenv(URL_ENV, pg.reader_url(password="wrong-Password-7"))
    refused = run_job(landing, pulled.root)
    assert (refused.status, refused.exit_code, refused.version) == ("failed", 1, version)
    assert refused.message and refused.message.startswith("hr_insured: ")
    assert "wrong-Password-7" not in refused.message and READER_PASSWORD not in refused.message
