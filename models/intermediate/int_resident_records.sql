-- Person records with their resident (int_resident_links), the building their address parses
-- to (int_addresses), and the survivorship rank used by the marts: active records first, then
-- source_priority, then the latest batch (then latest row, then key, for determinism).
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
    -- where the person actually lives (人户分离 when it is not the registered address): the
    -- newest active record that says where someone lives — police floating registration,
    -- health archive, civil affairs home address, hr mailing address, in that order on a tie;
    -- a police hukou address is where someone is registered, not where they live
    case when r.source_dataset <> 'police_hukou' and r.record_status = 'active'
              and a.building_key is not null
         then row_number() over (
             partition by l.resident_id,
                 (r.source_dataset <> 'police_hukou' and r.record_status = 'active'
                  and a.building_key is not null)
             order by r.last_extract_date desc, r.source_priority, r.last_apply_seq desc,
                      r.last_row_number desc, r.source_dataset, r.source_key)
    end as residence_rank,
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
