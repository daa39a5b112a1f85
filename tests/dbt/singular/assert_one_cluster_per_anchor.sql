-- Every cluster has its own anchor (so its own resident id): two clusters that share a valid ID
-- number (kept apart by a steward's cannot-link) must not collapse into one resident.
select anchor, count(distinct cluster_link_id) as clusters
from {{ ref('int_resident_anchors') }}
group by anchor
having count(distinct cluster_link_id) > 1
