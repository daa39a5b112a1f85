-- Conflicting values, kept visible: for every resident x attribute whose records offer more
-- than one distinct value, every candidate — its value, the source record, the business date
-- the rule read, its rank and whether it survived. value_no numbers the distinct values
-- (1 = the survivor's), so candidates that agree can be told apart from those that do not
-- even where the value is masked. ID numbers and phones are masked as the CLI masks them
-- (siheyuan.standardise.id_number.mask_id_number, siheyuan.quality.privacy.mask_phone):
-- they are not spread into another table. The rule's `conflicts` setting says which values
-- are compared: none (residence_source: the value is the dataset itself) are left out;
-- stated (status) compares what departments state (a death, the police registration's word),
-- not a status read from another record merely being active or ended.
with candidates as (
    select *
    from {{ ref('int_resident_attribute_candidates') }}
    where compared and conflicts_reported
),

valued as (
    -- conflicted: more than one distinct compared value (the candidates' window count)
    select
        c.*,
        min(c.rule_rank) over (partition by c.resident_id, c.attribute, c.value) as value_best_rank
    from candidates as c
    where c.distinct_value_count > 1
),

numbered as (
    select
        *,
        -- the distinct values in the order of their best candidate: 1 = the survivor's
        dense_rank() over (partition by resident_id, attribute order by value_best_rank)
            as value_no
    from valued
)

select
    n.resident_id,
    n.attribute,
    case
        when n.attribute = 'id_number' then {{ mask_id_number_sql('n.value') }}
        when n.attribute = 'phone_e164' then {{ mask_phone_sql('n.value') }}
        when n.attribute in ('registered_building_id', 'residence_building_id')
        then b.building_id
        else n.value
    end as value,
    n.value_no,
    n.value_origin,
    n.source_dataset,
    n.source_key,
    n.value_batch_id as batch_id,
    n.record_status,
    n.business_date,
    n.rule,
    n.rule_rank,
    n.rule_rank = 1 as is_survivor
from numbered as n
left join {{ ref('building') }} as b
    on n.attribute in ('registered_building_id', 'residence_building_id')
   and b.building_key = n.value
