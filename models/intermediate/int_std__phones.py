"""Every distinct delivered phone number to E.164 (phonenumbers, region CN), mobile or landline."""


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="phone_raw",
        on_schema_change="append_new_columns",
    )
    sources = [
        (dbt.ref("int_police__floating_current"), "phone"),
        (dbt.ref("int_civil_affairs__assistance_current"), "phone"),
        (dbt.ref("int_health__records_current"), "phone"),
        (dbt.ref("int_hr__insured_current"), "phone"),
    ]
    from siheyuan.standardise.incremental import distinct_keys, pending, values_of
    from siheyuan.standardise.tables import phone_table

    candidates = distinct_keys(rel.project(f'"{col}" as phone_raw') for rel, col in sources)
    if dbt.is_incremental:
        return phone_table(pending(session, dbt.this, ["phone_raw"], candidates))
    return phone_table(values_of(candidates))
