-- Where each active resident lives, down to the room when a record says so, and whether
-- anyone else active lives there: the basis of the 独居老人 finding and tag.
-- Home = the residence unit and room (the newest record of a department that says where the
-- resident lives); else, for a resident not living away from their registration, the unit and
-- room of their active police hukou record. living_alone:
--   room known:   no other active resident at the same building + unit + room, and no other
--                 active member of their 户 in the same building whose room is unknown (they
--                 may share the flat: not alone is the cautious reading);
--   room unknown: the only active member of their 户 (not for someone living away from it);
--   otherwise NULL (nothing says who they live with).
-- Age is in full years at the version's business date (findings_as_of), never the clock.
with residents as (
    select
        resident_id,
        birth_date,
        building_id,
        residence_unit_no,
        residence_room_no,
        household_id,
        lives_away_from_registration
    from {{ ref('resident') }}
    where status = 'active'
),

-- the unit and room of the resident's active registration (police hukou, 人员状态 正常)
registered_room as (
    select
        rr.resident_id,
        arg_min(a.unit_no, rr.source_key) as unit_no,
        arg_min(a.room_no, rr.source_key) as room_no
    from {{ ref('int_resident_records') }} as rr
    inner join {{ ref('int_person_records') }} as p
        on p.source_dataset = rr.source_dataset and p.source_key = rr.source_key
    inner join {{ ref('int_addresses') }} as a on a.address = p.address
    where rr.source_dataset = 'police_hukou'
      and rr.record_status = 'active'
      and rr.person_status = 'active'
      and a.room_no is not null
    group by rr.resident_id
),

home as (
    select
        r.*,
        case
            when r.residence_room_no is not null then 'residence'
            when coalesce(r.lives_away_from_registration, false) = false
                 and g.room_no is not null then 'registration'
        end as home_basis,
        case
            when r.residence_room_no is not null then r.residence_unit_no
            when coalesce(r.lives_away_from_registration, false) = false then g.unit_no
        end as home_unit_no,
        case
            when r.residence_room_no is not null then r.residence_room_no
            when coalesce(r.lives_away_from_registration, false) = false then g.room_no
        end as home_room_no
    from residents as r
    left join registered_room as g on g.resident_id = r.resident_id
),

at_room as (
    select building_id, coalesce(home_unit_no, '') as unit_key, home_room_no,
           count(*) as active_residents
    from home
    where home_room_no is not null and building_id is not null
    group by all
),

household_size as (
    select household_id, count(*) as active_members
    from home
    where household_id is not null
    group by household_id
),

-- a resident's active 户 members in the same building whose room nobody knows
unplaced_housemates as (
    select h.resident_id, count(*) as n
    from home as h
    inner join home as o
        on o.household_id = h.household_id
       and o.building_id = h.building_id
       and o.resident_id <> h.resident_id
       and o.home_room_no is null
    group by h.resident_id
)

select
    h.resident_id,
    h.birth_date,
    date_sub('year', h.birth_date, {{ findings_as_of() }}) as age_years,
    h.building_id,
    h.home_basis,
    h.home_unit_no,
    h.home_room_no,
    h.household_id,
    ar.active_residents as active_residents_at_room,
    hs.active_members as active_household_members,
    case
        when h.home_room_no is not null and h.building_id is not null
        then ar.active_residents = 1 and coalesce(u.n, 0) = 0
        when h.household_id is not null
             and coalesce(h.lives_away_from_registration, false) = false
        then hs.active_members = 1
    end as living_alone
from home as h
left join at_room as ar
    on ar.building_id = h.building_id
   and ar.unit_key = coalesce(h.home_unit_no, '')
   and ar.home_room_no = h.home_room_no
left join household_size as hs on hs.household_id = h.household_id
left join unplaced_housemates as u on u.resident_id = h.resident_id
