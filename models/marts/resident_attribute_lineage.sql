-- Where each published resident value came from: one row per resident x published attribute
-- that has a value — the surviving candidate of int_resident_attribute_candidates (the same
-- row marts.resident publishes), its source record (dataset, key, batch), the business date
-- the rule read, and the rule's name (seed survivorship_rules). candidate_count is how many of
-- the resident's records offered a value for the attribute, distinct_value_count how many
-- different values they offered as the rule compares them (`conflicts`: for status only what
-- departments state); > 1: see marts.resident_attribute_conflict (unless conflicts = none).
-- Sensitive values (ID number, phone) are not copied here: value is NULL for them; the value
-- is in marts.resident.
with candidates as (
    select * from {{ ref('int_resident_attribute_candidates') }}
),

-- distinct values by a two-level count (much cheaper than count(distinct) per group)
per_value as (
    select resident_id, attribute, value, bool_or(compared) as compared, count(*) as n
    from candidates
    where value is not null
    group by resident_id, attribute, value
),

counts as (
    select
        resident_id,
        attribute,
        sum(n) as candidate_count,
        count(*) filter (where compared) as distinct_value_count
    from per_value
    group by resident_id, attribute
)

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
    c.last_batch_id as batch_id,
    c.business_date,
    c.rule,
    cast(n.candidate_count as integer) as candidate_count,
    cast(n.distinct_value_count as integer) as distinct_value_count
from candidates as c
left join counts as n on n.resident_id = c.resident_id and n.attribute = c.attribute
left join {{ ref('building') }} as b
    on c.attribute in ('registered_building_id', 'residence_building_id')
   and b.building_key = c.value
where c.rule_rank = 1 and c.value is not null
