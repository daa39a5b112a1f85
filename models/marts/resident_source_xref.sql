-- Every source record ever accepted (every key in the current models) and the one resident
-- it maps to, with its lineage and status.
select
    source_dataset,
    source_key,
    resident_id,
    link_rule,  -- id_number | probabilistic | steward | singleton | held_id_conflict
    link_match_weight,  -- the Splink match weight of the edge that attached it (probabilistic)
    id_number_status,  -- why a record did (not) link on its ID (raw values stay in the warehouse)
    birth_date_status,
    phone_status,
    record_status,
    end_reason,
    carried_forward,
    last_batch_id,
    last_file_name,
    last_row_number
from {{ ref('int_resident_records') }}
