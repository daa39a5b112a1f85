-- Pairs of person records a data steward should decide (siheyuan review): the uncertain band
-- (review_weight <= weight < auto_link_weight, left in two residents), records two people fit
-- almost equally well (ambiguous), and records that contradict the ID number they carry
-- (id_conflict). A pair a steward has decided is not queued again: the decision is applied
-- instead (meta.link_decision). Per comparison its match weight (mw_*, the waterfall; NULL for
-- an id_conflict pair, which no blocking rule scored). Not published to department systems:
-- it names records, and it is the stewards' work list.
with items as (
    select
        c.link_id as left_link_id,
        item.other_link_id as right_link_id,
        item.reason,
        item.match_weight
    from {{ ref('int_person_clusters') }} as c
    cross join unnest(c.review) as u(item)
    where c.review is not null
),

sides as (
    select
        f.link_id,
        f.source_dataset,
        f.source_key,
        f.source_key_hash,
        l.resident_id
    from {{ ref('int_person_link_features') }} as f
    inner join {{ ref('int_resident_links') }} as l
        on l.source_dataset = f.source_dataset and l.source_key = f.source_key
)

select
    {{ link_pair_id('a.source_dataset', 'a.source_key_hash', 'b.source_dataset', 'b.source_key_hash') }}
        as pair_id,
    i.reason,
    i.match_weight,
    p.match_probability,
    a.source_dataset as left_dataset,
    a.source_key as left_key,
    a.source_key_hash as left_key_hash,
    a.resident_id as left_resident_id,
    b.source_dataset as right_dataset,
    b.source_key as right_key,
    b.source_key_hash as right_key_hash,
    b.resident_id as right_resident_id,
    p.* exclude (link_id_l, link_id_r, match_weight, match_probability)
from items as i
inner join sides as a on a.link_id = i.left_link_id
inner join sides as b on b.link_id = i.right_link_id
left join {{ ref('int_person_match_pairs') }} as p
    on p.link_id_l = i.left_link_id and p.link_id_r = i.right_link_id
