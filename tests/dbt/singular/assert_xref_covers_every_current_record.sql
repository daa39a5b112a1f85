-- Every key of every current model maps to exactly one xref row (and no xref row is extra).
with current_keys as (
    select source_dataset, source_key from {{ ref('int_police__hukou_current') }}
    union all select source_dataset, source_key from {{ ref('int_police__floating_current') }}
    union all select source_dataset, source_key from {{ ref('int_civil_affairs__assistance_current') }}
    union all select source_dataset, source_key from {{ ref('int_health__records_current') }}
    union all select source_dataset, source_key from {{ ref('int_hr__insured_current') }}
),

xref_counts as (
    select source_dataset, source_key, count(*) as n
    from {{ ref('resident_source_xref') }}
    group by source_dataset, source_key
)

select coalesce(c.source_dataset, x.source_dataset) as source_dataset,
       coalesce(c.source_key, x.source_key) as source_key,
       x.n
from current_keys as c
full outer join xref_counts as x
    on x.source_dataset = c.source_dataset and x.source_key = c.source_key
where c.source_key is null or x.n is null or x.n <> 1
