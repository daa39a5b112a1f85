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
    from siheyuan.standardise.incremental import pending
    from siheyuan.standardise.tables import distinct_values, phone_table

    values = distinct_values(sources)
    if dbt.is_incremental:
        values = pending(session, dbt.this, ["phone_raw"], values)
    return phone_table(values)
