-- Person records with their resident (int_resident_links), the building their address parses
-- to (int_addresses), and a record order for the marts that pick one record per resident or
-- household (household, int_household_members): active records first, then source_priority,
-- then the latest batch (then latest row, then key, for determinism). The published resident
-- attributes are chosen per attribute by the survivorship rules instead
-- (int_resident_attribute_candidates, seeds survivorship_rules / survivorship_trust_order),
-- which read each record's business_date (int_person_records).
-- survivor_rank is numbered over the key and order columns alone and joined back: a window
-- over the whole joined row carries every column of every record through its sort (at 1M
-- persons 12 s of this model's 16 s; 5 s this way, the same rows).
with ranked as (
    select
        r.source_dataset,
        r.source_key,
        row_number() over (
            partition by l.resident_id
            order by (r.record_status = 'active') desc, r.source_priority, r.last_apply_seq desc,
                     r.last_row_number desc, r.source_dataset, r.source_key
        ) as survivor_rank
    from {{ ref('int_person_records') }} as r
    inner join {{ ref('int_resident_links') }} as l
        on l.source_dataset = r.source_dataset and l.source_key = r.source_key
)

select
    r.*,
    l.resident_id,
    l.link_rule,
    l.link_match_weight,
    l.linked_to_dataset,
    l.linked_to_key,
    l.id_conflict,
    a.building_key,
    a.unit_no,
    a.room_no,
    a.parse_status as address_parse_status,
    k.survivor_rank
from {{ ref('int_person_records') }} as r
inner join {{ ref('int_resident_links') }} as l
    on l.source_dataset = r.source_dataset and l.source_key = r.source_key
inner join ranked as k
    on k.source_dataset = r.source_dataset and k.source_key = r.source_key
left join {{ ref('int_addresses') }} as a
    on a.address = r.address
