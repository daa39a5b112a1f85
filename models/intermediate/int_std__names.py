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
    from siheyuan.standardise.incremental import distinct_keys, pending, values_of
    from siheyuan.standardise.tables import name_table

    candidates = distinct_keys(rel.project(f'"{col}" as name_raw') for rel, col in sources)
    if dbt.is_incremental:
        return name_table(pending(session, dbt.this, ["name_raw"], candidates))
    return name_table(values_of(candidates))
