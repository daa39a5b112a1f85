-- Current state of police_floating (snapshot semantics): one row per source key ever seen.
{{ current_snapshot(ref('stg_police__floating'), 'police_floating') }}
