-- Person records with their resident (int_resident_links), the building their address parses
-- to (int_addresses), and the survivorship rank used by the marts: active records first, then
-- source_priority, then the latest batch (then latest row, then key, for determinism).
select
    r.*,
    l.resident_id,
    l.link_rule,
    a.building_key,
    a.parse_status as address_parse_status,
    row_number() over (
        partition by l.resident_id
        order by (r.record_status = 'active') desc, r.source_priority, r.last_apply_seq desc,
                 r.last_row_number desc, r.source_dataset, r.source_key
    ) as survivor_rank
from {{ ref('int_person_records') }} as r
inner join {{ ref('int_resident_links') }} as l
    on l.source_dataset = r.source_dataset and l.source_key = r.source_key
left join {{ ref('int_addresses') }} as a
    on a.address = r.address
