-- Where each published resident value came from: one row per resident x published attribute
-- that has a value — the surviving candidate of int_resident_attribute_candidates (the same
-- row marts.resident publishes), its source record (dataset, key, batch), the business date
-- the rule read, and the rule's name (seed survivorship_rules). candidate_count is how many of
-- the resident's records offered a value for the attribute, distinct_value_count how many
-- different values they offered as the rule compares them (`conflicts`: for status only what
-- departments state); > 1: see marts.resident_attribute_conflict (unless conflicts = none).
-- Sensitive values (ID number, phone) are not copied here: value is NULL for them; the value
-- is in marts.resident.
select
    c.resident_id,
    c.attribute,
    case
        when c.attribute in {{ survivorship_sensitive_attributes() }} then null
        when c.attribute in ('registered_building_id', 'residence_building_id')
        then b.building_id  -- the published id of the building key the record gave
        else c.value
    end as value,
    c.value_origin,
    c.source_dataset,
    c.source_key,
    c.value_batch_id as batch_id,
    c.business_date,
    c.rule,
    cast(c.candidate_count as integer) as candidate_count,
    cast(c.distinct_value_count as integer) as distinct_value_count
-- the counts are the candidate table's window counts over the resident's attribute
from {{ ref('int_resident_attribute_candidates') }} as c
left join {{ ref('building') }} as b
    on c.attribute in ('registered_building_id', 'residence_building_id')
   and b.building_key = c.value
where c.rule_rank = 1 and c.value is not null
