-- Every evidence record of a finding is a source record of the finding's own resident, as
-- last delivered (its batch is the record's last batch): evidence a department can look up.
{{ config(tags=['findings']) }}
with evidence as (
    select f.finding_id, f.resident_id, unnest(f.evidence) as e
    from {{ ref('finding') }} as f
)

select ev.finding_id, ev.e.source_dataset, ev.e.source_key
from evidence as ev
left join {{ ref('int_resident_records') }} as r
    on r.source_dataset = ev.e.source_dataset and r.source_key = ev.e.source_key
where r.resident_id is distinct from ev.resident_id
   or r.last_batch_id is distinct from ev.e.batch_id
