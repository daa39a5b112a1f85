-- One row per 户 (police hukou_number) with living registered members. The head is the member
-- with relation 02 户主; the building is the head's registered building, else the most
-- common building among the members' registered addresses.
with members as (
    select * from {{ ref('int_household_members') }}
),

heads as (
    select household_id, resident_id, registered_address, building_key
    from members
    where relation_code = '02'
    qualify row_number() over (partition by household_id order by survivor_rank, resident_id) = 1
),

member_buildings as (
    select household_id, building_key, count(*) as n
    from members
    where building_key is not null
    group by household_id, building_key
    qualify row_number() over (partition by household_id order by n desc, building_key) = 1
),

member_addresses as (
    select household_id, registered_address, count(*) as n
    from members
    where registered_address is not null
    group by household_id, registered_address
    qualify row_number() over (partition by household_id order by n desc, registered_address) = 1
),

households as (
    select household_id, min(hukou_number) as hukou_number, count(*) as member_count
    from members
    group by household_id
)

select
    h.household_id,
    h.hukou_number,
    hd.resident_id as head_resident_id,
    b.building_id,
    h.member_count,
    coalesce(hd.registered_address, ma.registered_address) as address
from households as h
left join heads as hd on hd.household_id = h.household_id
left join member_buildings as mb on mb.household_id = h.household_id
left join member_addresses as ma on ma.household_id = h.household_id
left join {{ ref('building') }} as b
    on b.building_key = coalesce(hd.building_key, mb.building_key)
