-- One row per resident. building_id is where the resident lives (the newest active record of
-- a department that says where someone lives), else where they are registered (police hukou);
-- both are published, and lives_away_from_registration flags 人户分离. Survivorship (for now): each attribute comes from the first record
-- that has it, in survivor order (active first, then source_priority, then latest batch);
-- birth_date and sex come from the resident's valid citizen ID when it has one (the ID passed
-- its check digit; a published birth date never contradicts the published ID), else from the
-- best record whose own values passed their checks (int_person_records nulls failed values).
-- status: deceased if any record says so (police 死亡 or a health death_date); moved_out if
-- the resident has police_hukou records but none active with 人员状态 正常 (迁出 or missing
-- from the latest snapshot), or if every source record has ended; else active.
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
        -- a record held out of its ID's cluster (id_conflict) does not give its resident the ID
        arg_min(id_number, survivor_rank) filter (where id_number is not null and not id_conflict)
            as id_number,
        arg_min(name, survivor_rank) filter (where name is not null) as name,
        arg_min(name_pinyin, survivor_rank) filter (where name is not null) as name_pinyin,
        arg_min(former_name, survivor_rank) filter (where former_name is not null) as former_name,
        arg_min(sex_code, survivor_rank) filter (where sex_code is not null) as sex_code,
        arg_min(ethnicity_code, survivor_rank) filter (where ethnicity_code is not null)
            as ethnicity_code,
        arg_min(birth_date, survivor_rank) filter (where birth_date is not null) as birth_date,
        -- a valid mobile is the most useful contact; then a valid landline
        arg_min(phone_e164, (phone_kind <> 'mobile', survivor_rank))
            filter (where phone_e164 is not null) as phone_e164,
        arg_min(phone_kind, (phone_kind <> 'mobile', survivor_rank))
            filter (where phone_e164 is not null) as phone_kind,
        -- registered (户籍): the best active police hukou record's address
        arg_min(building_key, survivor_rank) filter (
            where source_dataset = 'police_hukou' and record_status = 'active'
              and building_key is not null) as registered_building_key,
        -- lives (居住): the newest active record of another department (residence_rank)
        arg_min(building_key, residence_rank) filter (where residence_rank is not null)
            as residence_building_key,
        arg_min(unit_no, residence_rank) filter (where residence_rank is not null)
            as residence_unit_no,
        arg_min(room_no, residence_rank) filter (where residence_rank is not null)
            as residence_room_no,
        arg_min(source_dataset, residence_rank) filter (where residence_rank is not null)
            as residence_source,
        -- any building at all, for a resident known only from ended records
        arg_min(building_key, survivor_rank) filter (where building_key is not null)
            as any_building_key,
        bool_or(person_status = 'deceased') as is_deceased,
        arg_min(status_date, survivor_rank) filter (
            where person_status = 'deceased' and status_date is not null) as death_date,
        bool_or(source_dataset = 'police_hukou') as has_hukou,
        bool_or(source_dataset = 'police_hukou' and record_status = 'active'
                and person_status = 'active') as has_active_hukou,
        bool_or(record_status = 'active') as has_active_record,
        arg_min(coalesce(status_date, ended_extract_date), survivor_rank) filter (
            where source_dataset = 'police_hukou'
              and (person_status = 'moved_out' or record_status = 'ended')) as hukou_end_date,
        max(ended_extract_date) as last_end_date,
        count(*) as source_record_count,
        array_to_string(list_sort(list(distinct source_dataset)), ',') as source_datasets
    from recs
    group by resident_id
)

select
    a.resident_id,
    a.id_number,
    a.name,
    a.name_pinyin,
    a.former_name,
    coalesce(case
        when a.id_number is not null
        then case when cast(substr(a.id_number, 17, 1) as integer) % 2 = 1 then '1' else '2' end
    end, a.sex_code) as sex_code,
    a.ethnicity_code,
    coalesce({{ id_birth_date('a.id_number') }}, a.birth_date) as birth_date,
    a.phone_e164,
    a.phone_kind,
    hh.household_id,
    -- where the resident lives when a department says so, else where they are registered
    coalesce(rb.building_id, gb.building_id, ab.building_id) as building_id,
    gb.building_id as registered_building_id,
    rb.building_id as residence_building_id,
    a.residence_unit_no,
    a.residence_room_no,
    a.residence_source,
    -- 人户分离: registered in one building, living in another (NULL when either is unknown)
    case when gb.building_id is not null and rb.building_id is not null
         then gb.building_id <> rb.building_id end as lives_away_from_registration,
    case
        when a.is_deceased then 'deceased'
        when a.has_hukou and not a.has_active_hukou then 'moved_out'
        when not a.has_active_record then 'moved_out'
        else 'active'
    end as status,
    case
        when a.is_deceased then a.death_date
        when a.has_hukou and not a.has_active_hukou then a.hukou_end_date
        when not a.has_active_record then a.last_end_date
    end as status_date,
    a.source_record_count,
    a.source_datasets
from agg as a
left join households as hh on hh.resident_id = a.resident_id
left join {{ ref('building') }} as rb on rb.building_key = a.residence_building_key
left join {{ ref('building') }} as gb on gb.building_key = a.registered_building_key
left join {{ ref('building') }} as ab on ab.building_key = a.any_building_key
