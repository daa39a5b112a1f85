-- The simplest honest linking rule: records with a valid canonical citizen ID (valid or
-- converted from 15 digits) link on it; every other record is its own resident. resident_id is
-- a keyed hash of the anchor, so it stays the same across runs while the anchor does.
with anchored as (
    select
        source_dataset,
        source_key,
        case when id_number is not null then 'id:' || id_number
             else 'rec:' || source_dataset || ':' || source_key end as anchor,
        case when id_number is not null then 'id_number' else 'singleton' end as link_rule
    from {{ ref('int_person_records') }}
)

select
    a.source_dataset,
    a.source_key,
    a.anchor,
    a.link_rule,
    {{ stable_id('R', 'a.anchor') }} as resident_id
from anchored as a
{{ id_key_join() }}
