-- 常住人口登记: one row per raw row (all batches), contract columns renamed to their fields.
select
    {{ stg_lineage() }},
    {{ stg_string('人员编号', 'person_no') }},
    {{ stg_string('公民身份号码', 'id_number') }},
    {{ stg_string('姓名', 'name') }},
    {{ stg_string('曾用名', 'former_name') }},
    {{ stg_string('性别', 'sex') }},
    {{ stg_string('民族', 'ethnicity') }},
    {{ stg_typed('出生日期', 'birth_date', 'date', ['%Y%m%d']) }},
    {{ stg_string('户号', 'hukou_number') }},
    {{ stg_string('与户主关系', 'relation_to_head') }},
    {{ stg_string('户籍地址', 'registered_address') }},
    {{ stg_string('人员状态', 'person_status') }},
    {{ stg_typed('注销日期', 'deregistration_date', 'date', ['%Y%m%d']) }}
from {{ source('raw', 'police_hukou') }}
