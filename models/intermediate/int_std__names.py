"""Every distinct delivered name (and former name): normalised form and pinyin keys.

Python because OpenCC (traditional -> simplified) and pypinyin have no SQL equivalent; DuckDB's
string-distance functions count bytes on Chinese text, so comparisons use these keys instead.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    sources = [
        (dbt.ref("int_police__hukou_current"), "name"),
        (dbt.ref("int_police__hukou_current"), "former_name"),
        (dbt.ref("int_police__floating_current"), "name"),
        (dbt.ref("int_civil_affairs__assistance_current"), "name"),
        (dbt.ref("int_health__records_current"), "name"),
        (dbt.ref("int_hr__insured_current"), "name"),
    ]
    from siheyuan.standardise.tables import distinct_values, name_table

    return name_table(distinct_values(sources))
