"""Every distinct address text of the person records, placed on a building.

Python because placing an abbreviated address needs the whole run at once (the gazetteer
learned from the fully written addresses). The texts were parsed by ``int_std__addresses``
(a value cache: each text is parsed once, in the run that first delivers it); this model reads
their parts, learns the gazetteer and places them (siheyuan.standardise.address_gazetteer,
tested there). The hub's home district comes from dbt vars, as config in int_addresses.yml.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from siheyuan.standardise.address_cache import (
        address_version,
        configured_home,
        parts_from_table,
    )
    from siheyuan.standardise.address_gazetteer import place_all, table_of

    # dbt finds config keys by reading literal dbt.config.get("...") calls: keep them spelled out
    province = dbt.config.get("home_province")
    city = dbt.config.get("home_city")
    district = dbt.config.get("home_district")
    home = configured_home("int_addresses", province, city, district)
    records = dbt.ref("int_person_records")
    parts = dbt.ref("int_std__addresses").filter(f"std_version = '{address_version(home)}'")
    # current addresses teach the gazetteer; the registered address (户籍地) of floating
    # residents is parsed too (it names another district, and its parse says so) but only
    # tells which compound names are written elsewhere: a mis-read one must not teach a home
    # compound its road
    current = records.project("address as address_raw").filter("address_raw is not null")
    current = current.distinct()
    registered = records.project("registered_address as address_raw")
    registered = registered.filter("address_raw is not null").distinct().except_(current)
    groups = []
    for texts in (current, registered):
        rows = texts.join(parts, "address_raw", how="left").order("address_raw").to_arrow_table()
        missing = rows.column("status").null_count  # every cached row has a status
        if missing:  # int_std__addresses runs first: every text has its row
            raise RuntimeError(f"int_std__addresses lacks {missing} of {rows.num_rows} texts")
        groups.append(parts_from_table(rows))
    return table_of(place_all(*groups))
