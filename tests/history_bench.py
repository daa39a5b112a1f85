"""Time history.record_version on a synthetic warehouse (docs/history.md, "Measured").

    uv run python tests/history_bench.py [PERSONS] [FOLDER]

Builds marts.resident (22 columns like the real mart), household and household_member with
range(), records a baseline version, a version with 1 % of residents changed and an unchanged
one, and prints each call's time and the feed's counts. Not collected by pytest (it takes a
minute and a few GB at a million persons). Writes only FOLDER/bench.duckdb.
"""

from __future__ import annotations

import datetime
import sys
import time
from pathlib import Path

import duckdb
from siheyuan.history import record_version

RESIDENTS = """
CREATE OR REPLACE TABLE marts.resident AS
SELECT
    'R' || lpad(i::VARCHAR, 16, '0') AS resident_id,
    '330106' || (19400101 + (i % 600000))::VARCHAR || lpad((i % 10000)::VARCHAR, 4, '0')
        AS id_number,
    '张' || (i % 5000)::VARCHAR AS name,
    'zhang ' || (i % 5000)::VARCHAR AS name_pinyin,
    NULL::VARCHAR AS former_name,
    CASE WHEN i % 2 = 0 THEN '1' ELSE '2' END AS sex_code,
    '01' AS ethnicity_code,
    DATE '1940-01-01' + (i % 25000)::INTEGER AS birth_date,
    '+86138' || lpad(i::VARCHAR, 8, '0') AS phone_e164,
    'mobile' AS phone_kind,
    'H' || lpad((i // 3)::VARCHAR, 16, '0') AS household_id,
    'B' || lpad((i // 60)::VARCHAR, 16, '0') AS building_id,
    'B' || lpad((i // 60)::VARCHAR, 16, '0') AS registered_building_id,
    'B' || lpad((i // 60)::VARCHAR, 16, '0') AS residence_building_id,
    (i % 6)::VARCHAR AS residence_unit_no,
    (100 + i % 30)::VARCHAR AS residence_room_no,
    'health_records' AS residence_source,
    false AS lives_away_from_registration,
    'active' AS status,
    NULL::DATE AS status_date,
    2::BIGINT AS source_record_count,
    'health_records,police_hukou' AS source_datasets
FROM range($n) AS t(i)
"""
HOUSEHOLDS = """
CREATE OR REPLACE TABLE marts.household AS
SELECT
    'H' || lpad(h::VARCHAR, 16, '0') AS household_id,
    lpad(h::VARCHAR, 9, '0') AS hukou_number,
    'R' || lpad((h * 3)::VARCHAR, 16, '0') AS head_resident_id,
    'B' || lpad((h * 3 // 60)::VARCHAR, 16, '0') AS building_id,
    3::BIGINT AS member_count,
    '浙江省杭州市西湖区学院路' || h::VARCHAR || '号' AS address
FROM range(($n + 2) // 3) AS t(h)
"""
MEMBERS = """
CREATE OR REPLACE TABLE marts.household_member AS
SELECT household_id, resident_id, '02' AS relation_code, '户主' AS relation_name
FROM marts.resident
"""
# one resident in a hundred changes: per thousand, 4 phones, 3 moves, 1 death, 1 gone, 1 new
SERIAL = "CAST(substr(resident_id, 2) AS BIGINT) % 1000"
CHANGES = [
    f"UPDATE marts.resident SET phone_e164 = '+86139' || substr(resident_id, 10) "
    f"WHERE {SERIAL} < 4",
    "UPDATE marts.resident SET building_id = 'B9' || substr(building_id, 3), "
    f"residence_building_id = 'B9' || substr(building_id, 3) WHERE {SERIAL} BETWEEN 4 AND 6",
    "UPDATE marts.resident SET status = 'deceased', status_date = DATE '2026-10-20' "
    f"WHERE {SERIAL} = 7",
    f"DELETE FROM marts.resident WHERE {SERIAL} = 8",
    "INSERT INTO marts.resident SELECT * REPLACE ('N' || substr(resident_id, 2) AS resident_id) "
    f"FROM marts.resident WHERE {SERIAL} = 9",
    "DELETE FROM marts.household_member "
    "WHERE resident_id NOT IN (SELECT resident_id FROM marts.resident)",
]
AS_OF_QUERY = """
SELECT count(*) FROM history.resident_history
WHERE building_id = 'B0000000000000100' AND status = 'active'
  AND valid_from <= DATE '2026-10-15' AND (DATE '2026-10-15' < valid_to OR valid_to IS NULL)
"""


def timed(conn: duckdb.DuckDBPyConnection, version: int, day: datetime.date, label: str) -> None:
    started = time.perf_counter()
    record_version(conn, version, day)
    print(f"version {version} ({label}): {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/siheyuan-history-bench")
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.duckdb"
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    conn = duckdb.connect(str(db))
    conn.execute("CREATE SCHEMA marts")
    for sql in (RESIDENTS, HOUSEHOLDS, MEMBERS):
        conn.execute(sql, {"n": n} if "$n" in sql else None)
    conn.execute("CHECKPOINT")
    timed(conn, 1, datetime.date(2026, 10, 1), f"baseline, {n:,} residents")
    for sql in CHANGES:
        conn.execute(sql)
    conn.execute("CHECKPOINT")
    timed(conn, 2, datetime.date(2026, 11, 1), "1 % of residents changed")
    feed = conn.execute(
        "SELECT change_kind, count(*) FROM history.resident_change "
        "WHERE version_number = 2 GROUP BY 1 ORDER BY 1"
    ).fetchall()
    print(f"version 2 feed: {feed}")
    timed(conn, 3, datetime.date(2026, 11, 1), "nothing changed")
    started = time.perf_counter()
    found = conn.execute(AS_OF_QUERY).fetchone()
    took = time.perf_counter() - started
    print(f"as-of one building: {found[0] if found else 0} residents in {took:.2f} s")
    conn.close()
    print(f"database size: {db.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
