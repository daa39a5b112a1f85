"""Every distinct delivered name (and former name): normalised form and pinyin keys.

Python because OpenCC (traditional -> simplified) and pypinyin have no SQL equivalent; DuckDB's
string-distance functions count bytes on Chinese text, so comparisons use these keys instead.
"""


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="name_raw",
        on_schema_change="append_new_columns",
    )
    sources = [
        (dbt.ref("int_police__hukou_current"), "name"),
        (dbt.ref("int_police__hukou_current"), "former_name"),
        (dbt.ref("int_police__floating_current"), "name"),
        (dbt.ref("int_civil_affairs__assistance_current"), "name"),
        (dbt.ref("int_health__records_current"), "name"),
        (dbt.ref("int_hr__insured_current"), "name"),
    ]
    from siheyuan.standardise.incremental import pending
    from siheyuan.standardise.tables import distinct_values, name_table

    values = distinct_values(sources)
    if dbt.is_incremental:
        values = pending(session, dbt.this, ["name_raw"], values)
    return name_table(values)
