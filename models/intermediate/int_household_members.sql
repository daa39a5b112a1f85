-- Household membership from active police_hukou records of living, registered persons
-- (人员状态 正常), one row per (hukou_number, resident) using the resident's best record.
with hukou as (
    select *
    from {{ ref('int_resident_records') }}
    where source_dataset = 'police_hukou'
      and record_status = 'active'
      and person_status = 'active'
      and hukou_number is not null
)

select
    {{ stable_id('H', "'hukou:' || h.hukou_number") }} as household_id,
    h.hukou_number,
    h.resident_id,
    h.relation_code,
    h.registered_address,
    h.building_key,
    h.survivor_rank
from hukou as h
{{ id_key_join() }}
qualify row_number() over (
    partition by h.hukou_number, h.resident_id order by h.survivor_rank) = 1
