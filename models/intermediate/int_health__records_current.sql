-- Current state of health_records (delta semantics): one row per source key ever seen.
{{ current_delta(ref('stg_health__records'), 'health_records') }}
