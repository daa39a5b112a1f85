-- One row per resident. Every published attribute is the survivor (rule_rank = 1) of its
-- survivorship rule (int_resident_attribute_candidates; rules in seeds survivorship_rules and
-- survivorship_trust_order; docs/survivorship.md); marts.resident_attribute_lineage says which
-- record gave each value and by which rule. What the rules keep from before:
-- birth_date and sex come from a valid citizen ID when a record of the resident carries one
-- (a published birth date never contradicts the published ID), else from the best record whose
-- own values passed their checks (int_person_records nulls failed values); a record held out
-- for id_conflict does not give its ID. building_id is where the resident lives (the freshest
-- active residence evidence), else where they are registered (police hukou), else any building
-- of its records; lives_away_from_registration flags 人户分离. status: deceased if any
-- authoritative record says so (police 死亡 or a health death_date); moved_out if the resident
-- has police_hukou records but none active with 人员状态 正常, or if every source record has
-- ended; else active.
with recs as (
    select * from {{ ref('int_resident_records') }}
),

-- a resident in more than one 户 (duplicate registration) is placed in the household of
-- its best hukou record
households as (
    select resident_id, household_id
    from {{ ref('int_household_members') }}
    qualify row_number() over (partition by resident_id order by survivor_rank, household_id) = 1
),

agg as (
    select
        resident_id,
        -- any building at all, for a resident known only from ended records
        arg_min(building_key, survivor_rank) filter (where building_key is not null)
            as any_building_key,
        count(*) as source_record_count,
        array_to_string(list_sort(list(distinct source_dataset)), ',') as source_datasets
    from recs
    group by resident_id
)

select
    a.resident_id,
    w.id_number,
    w.name,
    w.name_pinyin,
    w.former_name,
    w.sex_code,
    w.ethnicity_code,
    w.birth_date,
    w.phone_e164,
    w.phone_kind,
    hh.household_id,
    -- where the resident lives when a department says so, else where they are registered
    coalesce(rb.building_id, gb.building_id, ab.building_id) as building_id,
    gb.building_id as registered_building_id,
    rb.building_id as residence_building_id,
    w.residence_unit_no,
    w.residence_room_no,
    w.residence_source,
    -- 人户分离: registered in one building, living in another (NULL when either is unknown)
    case when gb.building_id is not null and rb.building_id is not null
         then gb.building_id <> rb.building_id end as lives_away_from_registration,
    w.status,
    w.status_date,
    a.source_record_count,
    a.source_datasets
from agg as a
inner join {{ ref('int_resident_winners') }} as w on w.resident_id = a.resident_id
left join households as hh on hh.resident_id = a.resident_id
left join {{ ref('building') }} as rb on rb.building_key = w.residence_building_key
left join {{ ref('building') }} as gb on gb.building_key = w.registered_building_key
left join {{ ref('building') }} as ab on ab.building_key = a.any_building_key
