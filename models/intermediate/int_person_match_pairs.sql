-- Candidate pairs of person records scored by the trained Splink model, at or above the review
-- weight: below it a pair is neither linked nor queued. Scored in int_person_pair_cache (only the
-- changed records, when the previous run's cache allows; the same pairs and weights either way).
select * exclude (
    kind, record_key_l, feature_hash_l, record_key_r, feature_hash_r, name_normalised,
    above_floor, fingerprint, complete_above, mode, delta_records
)
from {{ ref('int_person_pair_cache') }}
where kind = 'pair' and above_floor
order by link_id_l, link_id_r
