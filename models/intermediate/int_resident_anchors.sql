-- Which cluster every person record is in (int_person_clusters: the ID tier, the Splink tier
-- and stewards' decisions, under the clustering constraints), named by the cluster's anchor —
-- its valid citizen ID (a cluster holds at most one), else its first record (dataset:key, in
-- text order) — and the id that anchor would give a cluster that inherits none
-- (anchor_resident_id). int_resident_ids decides the actual id, so it stays stable when the
-- anchor changes.
with clusters as (
    select
        c.*,
        f.id_number,
        f.id_conflict
    from {{ ref('int_person_clusters') }} as c
    inner join {{ ref('int_person_link_features') }} as f on f.link_id = c.link_id
),

cluster_anchors as (
    select
        cluster_link_id,
        'id:' || max(id_number) filter (where not id_conflict) as id_anchor,
        'rec:' || min(source_dataset || ':' || source_key) as record_anchor
    from clusters
    group by cluster_link_id
),

-- one anchor per cluster: two clusters share a valid ID number only when a steward's
-- cannot-link keeps its records apart; each is then named by its first record as well
anchors as (
    select
        cluster_link_id,
        case
            when id_anchor is null then record_anchor
            when count(*) over (partition by id_anchor) > 1 then id_anchor || '#' || record_anchor
            else id_anchor
        end as anchor
    from cluster_anchors
),

-- the anchor's keyed hash once per cluster, not once per record
anchor_ids as (
    select
        a.cluster_link_id,
        a.anchor,
        {{ stable_id('R', 'a.anchor') }} as anchor_resident_id
    from anchors as a
    {{ id_key_join() }}
)

select
    c.source_dataset,
    c.source_key,
    a.anchor,
    c.link_rule,
    c.link_match_weight,
    o.source_dataset as linked_to_dataset,
    o.source_key as linked_to_key,
    c.id_conflict,
    c.cluster_link_id,
    a.anchor_resident_id
from clusters as c
inner join anchor_ids as a on a.cluster_link_id = c.cluster_link_id
left join clusters as o on o.link_id = c.linked_to_link_id
