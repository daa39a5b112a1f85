-- Current state of hr_insured (delta semantics): one row per source key ever seen.
{{ current_delta(ref('stg_hr__insured'), 'hr_insured') }}
