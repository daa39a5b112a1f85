-- Who belongs to which 户, with the GB/T 4761 relation to the householder.
select
    m.household_id,
    m.resident_id,
    m.relation_code,
    rel.name as relation_name
from {{ ref('int_household_members') }} as m
left join {{ ref('gbt4761_relation') }} as rel on rel.code = m.relation_code
