-- 居民健康档案: one row per raw row (all batches), contract keys renamed to their fields.
select
    {{ stg_lineage() }},
    {{ stg_string('archive_no', 'archive_no') }},
    {{ stg_string('op', 'operation') }},
    {{ stg_string('name', 'name') }},
    {{ stg_string('gender_code', 'sex') }},
    {{ stg_typed('birth_date', 'birth_date', 'date', ['%Y-%m-%d']) }},
    {{ stg_string('id_type', 'id_type') }},
    {{ stg_string('id_no', 'id_number') }},
    {{ stg_string('guardian_id_no', 'guardian_id_number') }},
    {{ stg_string('phone', 'phone') }},
    {{ stg_string('address', 'current_address') }},
    {{ stg_typed('chronic', 'chronic_conditions', 'string_list') }},
    {{ stg_typed('death_date', 'death_date', 'date', ['%Y-%m-%d']) }},
    {{ stg_typed('updated_at', 'updated_at', 'timestamp') }}
from {{ source('raw', 'health_records') }}
