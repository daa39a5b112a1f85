-- The five current models projected onto one person-record shape, with the citizen ID
-- canonicalised (GB 11643) and sex / ethnicity / relation mapped to national codes.
-- One row per (source_dataset, source_key) ever seen.

{%- set lineage_cols -%}
    source_dataset, source_key, record_status, end_reason, ended_extract_date, carried_forward,
    first_batch_id, last_batch_id, last_apply_seq, last_extract_date,
    last_file_name, last_row_number
{%- endset %}

with police_hukou as (
    select
        {{ lineage_cols }},
        1 as source_priority,
        id_number as id_number_raw,
        name,
        former_name,
        sex as sex_raw,
        ethnicity as ethnicity_raw,
        birth_date,
        cast(null as varchar) as phone_raw,
        registered_address as address,
        registered_address,
        hukou_number,
        relation_to_head as relation_raw,
        case person_status when '死亡' then 'deceased' when '迁出' then 'moved_out' else 'active' end
            as person_status,
        person_status as person_status_raw,
        deregistration_date as status_date
    from {{ ref('int_police__hukou_current') }}
),

police_floating as (
    select
        {{ lineage_cols }},
        2 as source_priority,
        id_number as id_number_raw,
        name,
        cast(null as varchar) as former_name,
        sex as sex_raw,
        cast(null as varchar) as ethnicity_raw,
        birth_date,
        phone as phone_raw,
        current_address as address,
        registered_address,
        cast(null as varchar) as hukou_number,
        cast(null as varchar) as relation_raw,
        'active' as person_status,
        cast(null as varchar) as person_status_raw,
        cast(null as date) as status_date
    from {{ ref('int_police__floating_current') }}
),

hr_insured as (
    select
        {{ lineage_cols }},
        3 as source_priority,
        id_number as id_number_raw,
        name,
        cast(null as varchar) as former_name,
        sex as sex_raw,
        ethnicity as ethnicity_raw,
        cast(null as date) as birth_date,  -- 出生年月 is a month only
        birth_month,
        phone as phone_raw,
        mailing_address as address,
        cast(null as varchar) as registered_address,
        cast(null as varchar) as hukou_number,
        cast(null as varchar) as relation_raw,
        'active' as person_status,
        cast(null as varchar) as person_status_raw,
        cast(null as date) as status_date
    from {{ ref('int_hr__insured_current') }}
),

civil_assistance as (
    select
        {{ lineage_cols }},
        4 as source_priority,
        id_number as id_number_raw,
        name,
        cast(null as varchar) as former_name,
        sex as sex_raw,
        cast(null as varchar) as ethnicity_raw,
        birth_date,
        phone as phone_raw,
        home_address as address,
        cast(null as varchar) as registered_address,
        cast(null as varchar) as hukou_number,
        cast(null as varchar) as relation_raw,
        'active' as person_status,
        cast(null as varchar) as person_status_raw,
        cast(null as date) as status_date
    from {{ ref('int_civil_affairs__assistance_current') }}
),

health_records as (
    select
        {{ lineage_cols }},
        5 as source_priority,
        id_number as id_number_raw,
        name,
        cast(null as varchar) as former_name,
        sex as sex_raw,
        cast(null as varchar) as ethnicity_raw,
        birth_date,
        phone as phone_raw,
        current_address as address,
        cast(null as varchar) as registered_address,
        cast(null as varchar) as hukou_number,
        cast(null as varchar) as relation_raw,
        case when death_date is not null then 'deceased' else 'active' end as person_status,
        cast(null as varchar) as person_status_raw,
        death_date as status_date
    from {{ ref('int_health__records_current') }}
),

unioned as (
    select * from police_hukou
    union all by name  -- columns a dataset lacks (birth_month) become NULL
    select * from police_floating
    union all by name select * from hr_insured
    union all by name select * from civil_assistance
    union all by name select * from health_records
),

-- every accepted spelling of an ethnic group: code, full name (汉族), short name (汉)
ethnicity_alias as (
    select code as alias, code from {{ ref('gb3304_ethnicity') }}
    union
    select name, code from {{ ref('gb3304_ethnicity') }}
    union
    select short_name, code from {{ ref('gb3304_ethnicity') }}
),

prepared as (
    select
        u.*,
        {{ id_clean('u.id_number_raw') }} as _id_clean,
        {{ fold_fullwidth(strip_spaces('u.sex_raw')) }} as _sex,
        {{ fold_fullwidth(strip_spaces('u.ethnicity_raw')) }} as _eth,
        {{ fold_fullwidth(strip_spaces('u.relation_raw')) }} as _rel
    from unioned as u
),

statused as (
    select
        *,
        {{ id_number_status('_id_clean') }} as id_number_status
    from prepared
)

select
    s.source_dataset,
    s.source_key,
    s.record_status,
    s.end_reason,
    s.ended_extract_date,
    s.carried_forward,
    s.first_batch_id,
    s.last_batch_id,
    s.last_apply_seq,
    s.last_extract_date,
    s.last_file_name,
    s.last_row_number,
    s.id_number_raw,
    {{ id_number_canonical('s._id_clean', 's.id_number_status') }} as id_number,
    s.id_number_status,
    s.name,
    s.former_name,
    sex.code as sex_code,
    eth.code as ethnicity_code,
    s.birth_date,
    s.birth_month,  -- hr_insured only
    s.phone_raw,
    s.address,
    s.registered_address,
    s.hukou_number,
    rel.code as relation_code,
    s.person_status,
    s.status_date,
    s.source_priority
from statused as s
left join {{ ref('gbt2261_sex_alias') }} as sex
    on sex.alias = s._sex
left join ethnicity_alias as eth
    on eth.alias = case when regexp_full_match(s._eth, '\d{1,2}') then lpad(s._eth, 2, '0') else s._eth end
left join {{ ref('gbt4761_relation') }} as rel
    on rel.code = case when regexp_full_match(s._rel, '\d{1,2}') then lpad(s._rel, 2, '0') end
