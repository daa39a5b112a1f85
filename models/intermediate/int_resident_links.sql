-- Which resident every person record is: its cluster (int_resident_anchors) and the cluster's
-- stable resident id (int_resident_ids: the id most of its records were last published under,
-- else a keyed hash of the anchor), so an id survives a new anchor, a merge or a split.
select
    a.source_dataset,
    a.source_key,
    a.anchor,
    a.link_rule,
    a.link_match_weight,
    a.linked_to_dataset,
    a.linked_to_key,
    a.id_conflict,
    i.resident_id,
    i.id_basis
from {{ ref('int_resident_anchors') }} as a
inner join {{ ref('int_resident_ids') }} as i on i.anchor = a.anchor
