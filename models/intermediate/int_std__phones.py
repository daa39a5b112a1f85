"""Every distinct delivered phone number to E.164 (phonenumbers, region CN), mobile or landline."""


def model(dbt, session):
    dbt.config(materialized="table")
    sources = [
        (dbt.ref("int_police__floating_current"), "phone"),
        (dbt.ref("int_civil_affairs__assistance_current"), "phone"),
        (dbt.ref("int_health__records_current"), "phone"),
        (dbt.ref("int_hr__insured_current"), "phone"),
    ]
    from siheyuan.standardise.tables import distinct_values, phone_table

    return phone_table(distinct_values(sources))
