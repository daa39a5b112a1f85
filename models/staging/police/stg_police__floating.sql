-- 流动人口居住登记: one row per raw row (all batches), contract columns renamed to their fields.
select
    {{ stg_lineage() }},
    {{ stg_string('登记编号', 'registration_no') }},
    {{ stg_string('证件号码', 'id_number') }},
    {{ stg_string('姓名', 'name') }},
    {{ stg_string('性别', 'sex') }},
    {{ stg_typed('出生日期', 'birth_date', 'date', ['%Y-%m-%d']) }},
    {{ stg_string('户籍地详址', 'registered_address') }},
    {{ stg_string('现居住地址', 'current_address') }},
    {{ stg_string('居住事由', 'residence_reason') }},
    {{ stg_string('联系电话', 'phone') }},
    {{ stg_typed('登记日期', 'registration_date', 'date', ['%Y-%m-%d']) }}
from {{ source('raw', 'police_floating') }}
