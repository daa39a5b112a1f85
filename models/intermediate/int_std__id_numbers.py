"""Every distinct delivered citizen ID number, classified (GB 11643) by siheyuan.standardise.

Python because the classification needs the GB/T 2260 region table, the 15 -> 18 conversion and
the transposition search in one place that ingest also uses; DISTINCT values keep it small.
A birth date after the newest extract date delivered is implausible; the clock is never read,
so the same data gives the same statuses on any day it is rebuilt.
"""

from datetime import date


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="id_number_raw",
        on_schema_change="append_new_columns",
    )
    sources = [
        (dbt.ref("int_police__hukou_current"), "id_number"),
        (dbt.ref("int_police__floating_current"), "id_number"),
        (dbt.ref("int_civil_affairs__assistance_current"), "id_number"),
        (dbt.ref("int_health__records_current"), "id_number"),
        (dbt.ref("int_health__records_current"), "guardian_id_number"),
        (dbt.ref("int_hr__insured_current"), "id_number"),
    ]
    from siheyuan.standardise.incremental import distinct_keys, pending, values_of
    from siheyuan.standardise.tables import id_number_table

    # Birth dates are judged against the newest extract date, as the quality gate does, never
    # against the clock: the same data gives the same statuses on any day it is rebuilt.
    extracts = [rel.aggregate("max(last_extract_date)").fetchall()[0][0] for rel, _ in sources]
    latest = max((d for d in extracts if d is not None), default=date(1970, 1, 1))
    candidates = distinct_keys(rel.project(f'"{col}" as id_number_raw') for rel, col in sources)
    if not dbt.is_incremental:
        return id_number_table(values_of(candidates), today=latest)
    # a birth date judged implausible against an earlier bound may be plausible now
    recheck = "id_number_status in ('bad_birth_date', 'transposition_suspected', 'bad_check_digit')"
    values = pending(session, dbt.this, ["id_number_raw"], candidates, recheck=recheck)
    return id_number_table(values, today=latest)
