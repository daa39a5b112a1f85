-- 社会保险参保: one row per raw row (all batches), contract columns renamed to their fields.
select
    {{ stg_lineage() }},
    {{ stg_string('个人编号', 'personal_no') }},
    {{ stg_string('社会保障号码', 'id_number') }},
    {{ stg_string('姓名', 'name') }},
    {{ stg_string('性别', 'sex') }},
    {{ stg_typed('出生年月', 'birth_month', 'month', ['%Y%m']) }},
    {{ stg_string('民族', 'ethnicity') }},
    {{ stg_string('参保险种', 'insurance_scheme') }},
    {{ stg_string('参保状态', 'insurance_status') }},
    {{ stg_string('就业状态', 'employment_status') }},
    {{ stg_string('单位名称', 'employer') }},
    {{ stg_string('联系电话', 'phone') }},
    {{ stg_string('通讯地址', 'mailing_address') }},
    {{ stg_string('变更类型', 'operation') }},
    {{ stg_typed('变更日期', 'change_date', 'date', ['%Y%m%d']) }}
from {{ source('raw', 'hr_insured') }}
