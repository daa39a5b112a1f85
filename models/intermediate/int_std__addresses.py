"""Every distinct address text of the person records, parsed once (a value cache).

The parse reads only the text, the home district and the parser's rules, so a text parsed in
an earlier run keeps its row (``address_cache.address_version`` says when rows are stale);
``int_addresses`` places every text on a building from these rows each run, because placement
depends on all the run's addresses at once.
"""


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="address_raw",
        on_schema_change="append_new_columns",
    )
    from siheyuan.standardise.address_cache import address_version, configured_home, parts_table
    from siheyuan.standardise.incremental import distinct_keys, pending, values_of

    # dbt finds config keys by reading literal dbt.config.get("...") calls: keep them spelled out
    province = dbt.config.get("home_province")
    city = dbt.config.get("home_city")
    district = dbt.config.get("home_district")
    home = configured_home("int_std__addresses", province, city, district)
    records = dbt.ref("int_person_records")
    candidates = distinct_keys(
        records.project(f'"{col}" as address_raw') for col in ("address", "registered_address")
    )
    if dbt.is_incremental:
        version = address_version(home)
        return parts_table(
            pending(session, dbt.this, ["address_raw"], candidates, version=version), home
        )
    return parts_table(values_of(candidates), home)
