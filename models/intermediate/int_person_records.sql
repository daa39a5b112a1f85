-- The five current models projected onto one person-record shape, every value standardised
-- next to its raw form: citizen ID (GB 11643, int_std__id_numbers), names (int_std__names),
-- phones (E.164, int_std__phones), dates (int_std__dates, checked against the record's extract
-- date and its own ID), sex (GB/T 2261.1), ethnicity (GB 3304), relation (GB/T 4761) and
-- status words (seed status_vocabulary). One row per (source_dataset, source_key) ever seen.
-- A value that fails its check is NULL in the standard column and keeps its raw text and a
-- status saying why; nothing is guessed.

{%- set lineage_cols -%}
    source_dataset, source_key, record_status, end_reason, ended_extract_date, carried_forward,
    first_batch_id, last_batch_id, last_apply_seq, last_extract_date,
    last_file_name, last_row_number,
    value_batch_id, value_apply_seq, value_extract_date, value_row_number
{%- endset %}

-- The dataset CTEs are not materialized: each reader (the union, the code lookups) scans only
-- the columns it needs.
with police_hukou as not materialized (
    select
        {{ lineage_cols }},
        1 as source_priority,
        id_number as id_number_raw,
        name,
        former_name,
        sex as sex_raw,
        ethnicity as ethnicity_raw,
        birth_date_raw,
        cast(null as varchar) as phone_raw,
        registered_address as address,
        registered_address,
        hukou_number,
        relation_to_head as relation_raw,
        person_status as person_status_raw,
        'person_status' as status_field,
        person_status as source_status_raw,
        deregistration_date_raw as status_date_raw,
        -- business date: 注销日期 (a valid one, set below from status_date); nothing else dated
        '注销日期' as business_date_field
    from {{ ref('int_police__hukou_current') }}
),

police_floating as not materialized (
    select
        {{ lineage_cols }},
        2 as source_priority,
        id_number as id_number_raw,
        name,
        birth_date_raw,
        sex as sex_raw,
        phone as phone_raw,
        current_address as address,
        registered_address,
        registration_date as _business_value,
        '登记日期' as business_date_field
    from {{ ref('int_police__floating_current') }}
),

hr_insured as not materialized (
    select
        {{ lineage_cols }},
        3 as source_priority,
        id_number as id_number_raw,
        name,
        sex as sex_raw,
        ethnicity as ethnicity_raw,
        birth_month_raw as birth_date_raw,  -- 出生年月: month precision
        phone as phone_raw,
        mailing_address as address,
        'insurance_status' as status_field,
        insurance_status as source_status_raw,
        change_date as _business_value,
        '变更日期' as business_date_field
    from {{ ref('int_hr__insured_current') }}
),

civil_assistance as not materialized (
    select
        {{ lineage_cols }},
        4 as source_priority,
        id_number as id_number_raw,
        name,
        sex as sex_raw,
        birth_date_raw,
        phone as phone_raw,
        home_address as address,
        family_no,
        relation_to_applicant as relation_to_applicant_raw,
        'assistance_status' as status_field,
        assistance_status as source_status_raw,
        start_month as _business_value,  -- 起始年月: first of the month
        '起始年月' as business_date_field
    from {{ ref('int_civil_affairs__assistance_current') }}
),

health_records as not materialized (
    select
        {{ lineage_cols }},
        5 as source_priority,
        id_number as id_number_raw,
        name,
        sex as sex_raw,
        birth_date_raw,
        phone as phone_raw,
        current_address as address,
        death_date_raw as status_date_raw,
        death_date_raw is not null as death_reported,
        guardian_id_number as guardian_id_raw,
        cast(updated_at as date) as _business_value,
        'updated_at' as business_date_field
    from {{ ref('int_health__records_current') }}
),

-- not materialized: the code lookups below read one column of it each
unioned as not materialized (
    -- union by name: columns a dataset lacks become NULL
    select * from police_hukou
    union all by name select * from police_floating
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

-- The code columns joined per distinct delivered spelling: the folding (regular expressions and
-- a translate) runs once per spelling, not once per record (at a million persons it was most
-- of this model's time). A spelling matches the same code rows as before, so the join back on
-- the raw text gives every record the rows the per-record join gave.
sex_codes as (
    select v.raw, s.code
    from (select distinct sex_raw as raw from unioned where sex_raw is not null) as v
    inner join {{ ref('gbt2261_sex_alias') }} as s
        on s.alias = {{ fold_fullwidth(strip_spaces('v.raw')) }}
),

ethnicity_codes as (
    select v.raw, e.code
    from (select distinct ethnicity_raw as raw from unioned where ethnicity_raw is not null) as v
    inner join ethnicity_alias as e
        on e.alias = {{ code_text(fold_fullwidth(strip_spaces('v.raw'))) }}
),

relation_codes as (
    select v.raw, r.code
    from (select distinct relation_raw as raw from unioned where relation_raw is not null) as v
    inner join {{ ref('gbt4761_relation') }} as r
        on r.code = {{ code_text(fold_fullwidth(strip_spaces('v.raw'))) }}
),

applicant_relation_codes as (
    select v.raw, c.code
    from (
        select distinct relation_to_applicant_raw as raw
        from unioned where relation_to_applicant_raw is not null
    ) as v
    inner join {{ ref('civil_relation_to_applicant') }} as c
        on c.text = {{ strip_spaces('v.raw') }}
),

standardised as (
    select
        u.*,
        ids.id_number,
        coalesce(ids.id_number_status, 'empty') as id_number_status,
        ids.id_number_cleaned,
        gids.id_number as guardian_id_number,
        nm.name_normalised,
        nm.name_pinyin,
        nm.name_initials,
        ph.phone_e164,
        ph.phone_kind,
        coalesce(ph.phone_status, 'empty') as phone_status,
        sex.code as _sex_code,
        eth.code as ethnicity_code,
        rel.code as _police_relation_code,
        car.code as relation_to_applicant_code,
        bd.date_value as _birth_value,
        bd.date_precision as birth_date_precision,
        {{ std_date_status('bd', 'u.birth_date_raw', 'u.last_extract_date') }} as _birth_status,
        {{ std_date_status('sd', 'u.status_date_raw', 'u.last_extract_date') }} as status_date_status,
        case when {{ std_date_status('sd', 'u.status_date_raw', 'u.last_extract_date') }} = 'valid'
             then sd.date_value end as status_date,
        vocab.standard as source_status
    from unioned as u
    left join {{ ref('int_std__id_numbers') }} as ids on ids.id_number_raw = u.id_number_raw
    left join {{ ref('int_std__id_numbers') }} as gids on gids.id_number_raw = u.guardian_id_raw
    left join {{ ref('int_std__names') }} as nm on nm.name_raw = u.name
    left join {{ ref('int_std__phones') }} as ph on ph.phone_raw = u.phone_raw
    left join sex_codes as sex on sex.raw = u.sex_raw
    left join ethnicity_codes as eth on eth.raw = u.ethnicity_raw
    left join relation_codes as rel on rel.raw = u.relation_raw
    left join applicant_relation_codes as car on car.raw = u.relation_to_applicant_raw
    left join {{ ref('int_std__dates') }} as bd
        on bd.date_raw = u.birth_date_raw
       and bd.from_spreadsheet = (u.source_dataset = 'civil_assistance')
    left join {{ ref('int_std__dates') }} as sd
        on sd.date_raw = u.status_date_raw and not sd.from_spreadsheet
    left join {{ ref('status_vocabulary') }} as vocab
        on vocab.source_dataset = u.source_dataset and vocab.field = u.status_field
       and vocab.raw = u.source_status_raw
),

-- what the record's own valid citizen ID says: birth date and sex (odd 17th digit = male)
id_checked as (
    select
        *,
        {{ id_birth_date('id_number') }} as _id_birth,
        case when id_number is not null
             then case when cast(substr(id_number, 17, 1) as integer) % 2 = 1 then '1' else '2' end
        end as _id_sex
    from standardised
),

checked as (
    select
        *,
        -- month precision (hr 出生年月) is compared by month
        case
            when _birth_status <> 'valid' or _id_birth is null then null
            when birth_date_precision = 'month' then date_trunc('month', _id_birth) = _birth_value
            else _id_birth = _birth_value
        end as birth_date_agrees_with_id,
        case when _sex_code in ('1', '2') and _id_sex is not null then _sex_code = _id_sex end
            as sex_agrees_with_id
    from id_checked
),

-- civil affairs: a family's relations to its applicant (本人) are relations to the householder
-- only when the family has exactly one applicant row among its active records, and that
-- applicant's valid ID is on an active police_hukou record with relation 02 户主. Two 本人
-- rows, an ended applicant record or an applicant who is not the householder: no derivation.
-- (A member written as 户主 is not the applicant: the seed leaves 户主 unmapped.)
civil_applicants as (
    select family_no, any_value(id_number) as id_number
    from checked
    where source_dataset = 'civil_assistance'
      and record_status = 'active'
      and relation_to_applicant_code = '01'
    group by family_no
    having count(*) = 1
),

civil_applicant_heads as (
    select distinct a.family_no
    from civil_applicants as a
    inner join checked as h
        on h.id_number = a.id_number
       and h.source_dataset = 'police_hukou'
       and h.record_status = 'active'
       and h._police_relation_code = '02'
)

select
    c.source_dataset,
    c.source_key,
    c.record_status,
    c.end_reason,
    c.ended_extract_date,
    c.carried_forward,
    c.first_batch_id,
    c.last_batch_id,
    c.last_apply_seq,
    c.last_extract_date,
    c.last_file_name,
    c.last_row_number,
    -- the row that delivered the current values (a snapshot's last_* move with every
    -- re-delivery; these only when the values changed): survivorship's lineage and tie-breaks
    c.value_batch_id,
    c.value_apply_seq,
    c.value_extract_date,
    c.value_row_number,
    c.id_number_raw,
    c.id_number,
    c.id_number_status,
    c.id_number_cleaned,  -- spaces removed, full-width folded: what a partial ID comparison reads
    c.guardian_id_number,  -- health: a minor's guardian's valid ID (the minor has none)
    c.name,  -- as delivered, trimmed: the display form
    c.name_normalised,
    c.name_pinyin,
    c.name_initials,
    c.former_name,
    c.sex_raw,
    case when c.sex_agrees_with_id is not false then c._sex_code end as sex_code,
    c.sex_agrees_with_id,
    c.ethnicity_raw,
    c.ethnicity_code,
    c.birth_date_raw,
    case when c._birth_status = 'valid' and c.birth_date_agrees_with_id is not false
              and c.birth_date_precision = 'day'
         then c._birth_value end as birth_date,
    case when c._birth_status = 'valid' and c.birth_date_agrees_with_id is not false
              and c.birth_date_precision = 'month'
         then c._birth_value end as birth_month,  -- first of the month; hr_insured 出生年月
    c.birth_date_precision,
    case when c.birth_date_agrees_with_id = false then 'id_mismatch' else c._birth_status end
        as birth_date_status,
    c.birth_date_agrees_with_id,
    c.phone_raw,
    c.phone_e164,
    c.phone_kind,
    c.phone_status,
    c.address,
    c.registered_address,
    c.hukou_number,
    c.relation_raw,
    c.relation_to_applicant_raw,
    c.relation_to_applicant_code,
    case
        when c.source_dataset = 'police_hukou' then c._police_relation_code
        when c.source_dataset = 'civil_assistance' and c.record_status = 'active'
             and ah.family_no is not null
        then case when c.relation_to_applicant_code = '01' then '02'
                  else c.relation_to_applicant_code end
    end as relation_code,
    case
        when c.source_dataset = 'police_hukou' and c.person_status_raw is null then 'active'
        when c.source_dataset = 'police_hukou' then coalesce(c.source_status, 'unknown')
        when c.source_dataset = 'health_records' and c.death_reported then 'deceased'
        else 'active'
    end as person_status,
    c.person_status_raw,
    c.source_status_raw,
    c.source_status,
    c.status_date,
    c.status_date_raw,
    c.status_date_status,
    -- the department's own date of the record (survivorship recency; never load time):
    -- police_hukou 注销日期, police_floating 登记日期, civil_assistance 起始年月, health
    -- updated_at, hr 变更日期. NULL when the record has none or it is not a plausible date
    -- (after the record's extract date, or before 1900).
    case
        when c.source_dataset = 'police_hukou' then c.status_date
        when c._business_value between date '1900-01-01' and c.last_extract_date
        then cast(c._business_value as date)
    end as business_date,
    c.business_date_field,
    c.source_priority
from checked as c
left join civil_applicant_heads as ah
    on c.source_dataset = 'civil_assistance' and ah.family_no = c.family_no
