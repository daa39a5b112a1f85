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
-- Not carried on: what only standardisation, linking or the record's own checks read — the
-- delivered raw texts (sensitive ones among them: they stay in int_person_records), the name
-- keys and guardian ID of the link features, the agreement flags and precisions behind
-- birth_claim, the ordering column used above, and the address's parse status (in
-- int_addresses). Seven models and several commands read this table, and each column is
-- written, read and (by the survivorship candidates) hashed for every record every run: 21 of
-- 69 columns fewer, 7.2 s -> 5.3 s to write at 1M.
{%- set not_carried = ['id_number_raw', 'guardian_id_number', 'name_normalised', 'name_initials',
                       'sex_raw', 'sex_agrees_with_id', 'ethnicity_raw', 'birth_date_precision',
                       'birth_date_agrees_with_id', 'phone_raw', 'relation_raw',
                       'relation_to_applicant_raw', 'relation_to_applicant_code',
                       'person_status_raw', 'source_status_raw', 'status_date_raw',
                       'status_date_status', 'business_date_field', 'source_priority',
                       'first_batch_id'] %}
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
    r.* exclude ({{ not_carried | join(', ') }}),
    l.resident_id,
    l.link_rule,
    l.link_match_weight,
    l.linked_to_dataset,
    l.linked_to_key,
    l.id_conflict,
    a.building_key,
    a.unit_no,
    a.room_no,
    k.survivor_rank
from {{ ref('int_person_records') }} as r
inner join {{ ref('int_resident_links') }} as l
    on l.source_dataset = r.source_dataset and l.source_key = r.source_key
inner join ranked as k
    on k.source_dataset = r.source_dataset and k.source_key = r.source_key
left join {{ ref('int_addresses') }} as a
    on a.address = r.address
