"""Every distinct address text of the person records, parsed and placed on a building.

Python because the parse is a small grammar rather than one regex per column, and because
placing an abbreviated address needs the whole run at once (the gazetteer learned from the
fully written addresses). The parser is siheyuan.standardise.address (tested there); this model
feeds it the distinct texts and the hub's home district (dbt vars, as config in
int_addresses.yml).
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from siheyuan.standardise.address import Home
    from siheyuan.standardise.address_gazetteer import address_table

    # dbt finds config keys by reading literal dbt.config.get("...") calls: keep them spelled out
    province = dbt.config.get("home_province")
    city = dbt.config.get("home_city")
    district = dbt.config.get("home_district")
    if not (province and city and district):
        raise ValueError("int_addresses needs config home_province/home_city/home_district")
    home = Home(province, city, district)
    records = dbt.ref("int_person_records")
    # current addresses teach the gazetteer; the registered address (户籍地) of floating
    # residents is parsed too (it names another district, and its parse says so) but only
    # tells which compound names are written elsewhere: a mis-read one must not teach a home
    # compound its road
    current = {v for (v,) in records.project("address").distinct().fetchall() if v is not None}
    registered = {
        v for (v,) in records.project("registered_address").distinct().fetchall() if v is not None
    }
    return address_table(sorted(current), home, sorted(registered - current))
