"""Every distinct delivered date text, read in every form the spec lists (with its precision).

Keyed by (date_raw, from_spreadsheet): only spreadsheet sources (civil_assistance) may carry
Excel serial day numbers. Whether a date lies in the future is decided in SQL against the
extract date of the record that carries it.
"""


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["date_raw", "from_spreadsheet"],
        on_schema_change="append_new_columns",
    )
    # (model, column of trimmed raw text, from a spreadsheet)
    sources = [
        (dbt.ref("int_police__hukou_current"), "birth_date_raw", False),
        (dbt.ref("int_police__hukou_current"), "deregistration_date_raw", False),
        (dbt.ref("int_police__floating_current"), "birth_date_raw", False),
        (dbt.ref("int_police__floating_current"), "registration_date_raw", False),
        (dbt.ref("int_civil_affairs__assistance_current"), "birth_date_raw", True),
        (dbt.ref("int_civil_affairs__assistance_current"), "start_month_raw", True),
        (dbt.ref("int_health__records_current"), "birth_date_raw", False),
        (dbt.ref("int_health__records_current"), "death_date_raw", False),
        (dbt.ref("int_hr__insured_current"), "birth_month_raw", False),
        (dbt.ref("int_hr__insured_current"), "change_date_raw", False),
    ]
    from siheyuan.standardise.incremental import distinct_keys, pending, values_of
    from siheyuan.standardise.tables import date_table

    keys = ["date_raw", "from_spreadsheet"]
    candidates = distinct_keys(
        rel.project(f'"{col}" as date_raw, {str(sheet).lower()} as from_spreadsheet')
        for rel, col, sheet in sources
    )
    if dbt.is_incremental:
        return date_table(pending(session, dbt.this, keys, candidates))
    return date_table(values_of(candidates))
