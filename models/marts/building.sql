-- One row per building key a person record's own address is placed on (int_resident_records:
-- the keys resident and household use; int_addresses: the Python parser and the run's
-- gazetteer, siheyuan.standardise.address). Not the registered address of a floating resident
-- (户籍地): it is not where anyone lives here, and a mis-read one must not become a building.
-- The key is district|compound|building_no; street, community and road + number are the most
-- common among the building's address texts (an abbreviated address borrows them only when
-- the run's full forms of its compound agree, so the vote is the written one).
with parsed as (
    select a.*
    from {{ ref('int_addresses') }} as a
    where a.building_key is not null
      and a.address in (select r.address from {{ ref('int_resident_records') }} as r)
),

-- the most common street among the building's addresses (ties: the smallest), deterministic
streets as (
    select building_key, street
    from parsed
    where street is not null
    group by building_key, street
    qualify row_number() over (partition by building_key order by count(*) desc, street) = 1
),

-- the most common community (written in some addresses only)
communities as (
    select building_key, community
    from parsed
    where community is not null
    group by building_key, community
    qualify row_number() over (partition by building_key order by count(*) desc, community) = 1
),

-- the most common road + number written for the building (abbreviated forms omit it)
roads as (
    select building_key, road, road_number
    from parsed
    where road is not null and road_number is not null
    group by building_key, road, road_number
    qualify row_number() over (
        partition by building_key order by count(*) desc, road, road_number) = 1
),

parts as (
    select
        building_key,
        max(province) as province,
        max(city) as city,
        min(district) as district,
        (select s.street from streets as s where s.building_key = parsed.building_key) as street,
        (select c.community from communities as c where c.building_key = parsed.building_key)
            as community,
        (select r.road from roads as r where r.building_key = parsed.building_key) as road,
        (select r.road_number from roads as r where r.building_key = parsed.building_key)
            as road_number,
        min(compound) as compound,
        min(building_no) as building_no
    from parsed
    group by building_key
)

select
    {{ stable_id('B', 'p.building_key') }} as building_id,
    p.building_key,
    p.province,
    p.city,
    p.district,
    p.street,
    p.community,
    p.road,
    p.road_number,
    p.compound,
    p.building_no,
    concat(p.province, p.city, p.district, p.street, p.road,
           case when p.road_number is not null then p.road_number || '号' end,
           p.compound, p.building_no || '幢') as example_address
from parts as p
{{ id_key_join() }}
