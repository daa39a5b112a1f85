-- One row per resident: the surviving value of every published resident attribute side by
-- side (rule_rank = 1 of int_resident_attribute_candidates), as marts.resident publishes them —
-- building attributes still as keys (the mart maps them to building ids), values as text or
-- cast to their type.
--
-- Incremental like the candidates (docs/scaling.md): a resident's row depends only on its own
-- candidates, so a run pivots again only the residents whose candidates' resident_hash (or this
-- model's text: both are in winners_hash) changed, and deletes the ones that no longer exist.
-- The hash is read from each resident's surviving status candidate: every record offers a
-- status (seed survivorship_trust_order lists every dataset for it), so every resident has one.
{{ config(**per_resident_incremental('int_resident_attribute_candidates')) }}
with hashes as (
    select c.resident_id, hash(c.resident_hash, '{{ model.checksum.checksum }}') as winners_hash
    from {{ ref('int_resident_attribute_candidates') }} as c
    where c.rule_rank = 1 and c.attribute = 'status'
    {%- if is_incremental() %}
      and not exists (
          select 1 from {{ this }} as t
          where t.resident_id = c.resident_id
            and t.winners_hash = hash(c.resident_hash, '{{ model.checksum.checksum }}')
      )
    {%- endif %}
)

select
    c.resident_id,
    any_value(c.value) filter (where c.attribute = 'id_number') as id_number,
    any_value(c.value) filter (where c.attribute = 'name') as name,
    any_value(c.value) filter (where c.attribute = 'name_pinyin') as name_pinyin,
    any_value(c.value) filter (where c.attribute = 'former_name') as former_name,
    any_value(c.value) filter (where c.attribute = 'sex_code') as sex_code,
    any_value(c.value) filter (where c.attribute = 'ethnicity_code') as ethnicity_code,
    cast(any_value(c.value) filter (where c.attribute = 'birth_date') as date) as birth_date,
    any_value(c.value) filter (where c.attribute = 'phone_e164') as phone_e164,
    any_value(c.value) filter (where c.attribute = 'phone_kind') as phone_kind,
    any_value(c.value) filter (where c.attribute = 'registered_building_id')
        as registered_building_key,
    any_value(c.value) filter (where c.attribute = 'residence_building_id')
        as residence_building_key,
    any_value(c.value) filter (where c.attribute = 'residence_unit_no') as residence_unit_no,
    any_value(c.value) filter (where c.attribute = 'residence_room_no') as residence_room_no,
    any_value(c.value) filter (where c.attribute = 'residence_source') as residence_source,
    any_value(c.value) filter (where c.attribute = 'status') as status,
    cast(any_value(c.value) filter (where c.attribute = 'status_date') as date) as status_date,
    any_value(h.winners_hash) as winners_hash
from {{ ref('int_resident_attribute_candidates') }} as c
inner join hashes as h on h.resident_id = c.resident_id
where c.rule_rank = 1
group by c.resident_id
