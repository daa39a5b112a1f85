-- Current state of civil_assistance (snapshot semantics): one row per source key ever seen.
{{ current_snapshot(ref('stg_civil_affairs__assistance'), 'civil_assistance') }}
