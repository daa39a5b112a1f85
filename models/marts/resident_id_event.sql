-- This run's resident id events against the last publish (meta.resident_record_id), for
-- resident_id_history (appended at publish by siheyuan.stable_ids.commit_ids):
--   merged  old id retired; most of its records now belong to new_resident_id
--   split   new_resident_id is a new id given to records that were part of old_resident_id
--   retired old id retired and none of its records remain (no successor)
-- An id that simply carries on is no event. Not published itself: resident_id_history is.
with cur as (
    select source_dataset, source_key, resident_id, id_basis, link_rule
    from {{ ref('int_resident_links') }}
),

prev as (
    select source_dataset, source_key, resident_id
    from {{ source('meta', 'resident_record_id') }}
),

-- every previous record whose id changed: its old id and its new id (null when the record is
-- gone). A record that kept its id is in no event: a retired id kept none of its records, and a
-- split's new id did not exist before; so flows and retired ids are worked out on the change,
-- not on every record (at 1M, a group-by of 2.3M rows and a distinct of a million ids)
moves as (
    select
        p.resident_id as old_resident_id,
        c.resident_id as new_resident_id,
        c.id_basis,
        c.link_rule
    from prev as p
    left join cur as c
        on c.source_dataset = p.source_dataset and c.source_key = p.source_key
    where c.resident_id is distinct from p.resident_id
),

flows as (
    select
        old_resident_id,
        new_resident_id,
        any_value(id_basis) as id_basis,
        count(*) as record_count,
        string_agg(distinct link_rule, ', ' order by link_rule) as link_rules
    from moves
    group by old_resident_id, new_resident_id
),

-- an old id none of whose records carries it any more
retired as (
    select distinct m.old_resident_id
    from moves as m
    anti join cur as c on c.resident_id = m.old_resident_id
),

merged as (
    select
        r.old_resident_id,
        f.new_resident_id,
        case when f.new_resident_id is null then 'retired' else 'merged' end as event,
        f.record_count,
        case when f.new_resident_id is null
             then 'none of its source records remain'
             else f.record_count || ' of its source records now belong to another resident'
                  || ' (link rules: ' || coalesce(f.link_rules, '') || ')'
        end as reason
    from retired as r
    inner join flows as f on f.old_resident_id = r.old_resident_id
    qualify row_number() over (
        partition by r.old_resident_id
        order by f.new_resident_id is null, f.record_count desc, f.new_resident_id
    ) = 1
),

split as (
    select
        f.old_resident_id,
        f.new_resident_id,
        'split' as event,
        f.record_count,
        f.record_count || ' of its source records were separated into a new resident'
            || ' (link rules: ' || coalesce(f.link_rules, '') || ')' as reason
    from flows as f
    where f.id_basis = 'new' and f.new_resident_id is not null
    qualify row_number() over (
        partition by f.new_resident_id order by f.record_count desc, f.old_resident_id
    ) = 1
)

select old_resident_id, new_resident_id, event, cast(record_count as integer) as record_count, reason
from merged
union all
select old_resident_id, new_resident_id, event, cast(record_count as integer) as record_count, reason
from split
