-- Current state of police_hukou (snapshot semantics): one row per source key ever seen.
{{ current_snapshot(ref('stg_police__hukou'), 'police_hukou') }}
