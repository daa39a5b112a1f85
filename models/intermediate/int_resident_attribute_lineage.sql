-- The rows of marts.resident_attribute_lineage (a view of this table without lineage_hash):
-- each resident's surviving candidate per attribute that has a value, its source record, the
-- batch that delivered the value, the rule, and the candidate counts. Sensitive values (ID
-- number, phone) are not copied (NULL); a building attribute's value is the published building
-- id of the record's building key — stable_id('B', key), as marts.building computes it (every
-- key a record offers is a building there: the building mart is built from the same records'
-- addresses; a relationships test on the mart pins it).
--
-- Incremental, like int_resident_attribute_candidates (docs/scaling.md): a resident's rows
-- depend only on its own candidates, so a run rebuilds only the residents whose candidates'
-- resident_hash changed (or this model's text: it is part of lineage_hash) and deletes the ones
-- that no longer exist. The table is read on each resident's status row (every resident's
-- records state a status); a resident without one is simply rebuilt every run.
{{ config(**per_resident_incremental('int_resident_attribute_candidates')) }}
-- not materialized: the pending residents are found on the status rows alone, and only theirs
-- are hashed and copied (materialising every survivor first cost twice as much in a 1 % month)
with survivors as not materialized (
    select
        c.*,
        hash(c.resident_hash, '{{ model.checksum.checksum }}') as lineage_hash
    from {{ ref('int_resident_attribute_candidates') }} as c
    where c.rule_rank = 1
)

{%- if is_incremental() %},

pending as (
    select s.resident_id
    from survivors as s
    where s.attribute = 'status'
      and not exists (
          select 1 from {{ this }} as t
          where t.attribute = 'status'
            and t.resident_id = s.resident_id and t.lineage_hash = s.lineage_hash
      )
)
{%- endif %}

select
    c.resident_id,
    c.attribute,
    case
        when c.attribute in {{ survivorship_sensitive_attributes() }} then null
        when c.attribute in ('registered_building_id', 'residence_building_id')
        then {{ stable_id('B', 'c.value') }}
        else c.value
    end as value,
    c.value_origin,
    c.source_dataset,
    c.source_key,
    c.value_batch_id as batch_id,
    c.business_date,
    c.rule,
    cast(c.candidate_count as integer) as candidate_count,
    cast(c.distinct_value_count as integer) as distinct_value_count,
    c.lineage_hash,
    -- the dbt invocation that wrote the row: the uniqueness test checks only what a build wrote
    '{{ invocation_id }}' as built_by
-- the counts are the candidate table's window counts over the resident's attribute
from survivors as c
{{ id_key_join() }}
where c.value is not null
{%- if is_incremental() %}
  and c.resident_id in (select p.resident_id from pending as p)
{%- endif %}
