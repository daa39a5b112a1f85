-- 救助对象: one row per raw row (all batches), contract columns renamed to their fields.
select
    {{ stg_lineage() }},
    {{ stg_string('家庭编号', 'family_no') }},
    {{ stg_typed('成员序号', 'member_no', 'integer') }},
    {{ stg_string('救助类型', 'assistance_type') }},
    {{ stg_string('姓名', 'name') }},
    {{ stg_string('身份证号', 'id_number') }},
    {{ stg_string('性别', 'sex') }},
    {{ stg_typed('出生日期', 'birth_date', 'date', ['%Y/%m/%d', '%Y-%m-%d']) }},
    {{ stg_string('与申请人关系', 'relation_to_applicant') }},
    {{ stg_string('家庭住址', 'home_address') }},
    {{ stg_string('联系电话', 'phone') }},
    {{ stg_typed('月保障金额', 'monthly_amount', 'decimal') }},
    {{ stg_typed('起始年月', 'start_month', 'month', ['%Y%m']) }},
    {{ stg_string('状态', 'assistance_status') }}
from {{ source('raw', 'civil_assistance') }}
