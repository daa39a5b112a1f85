-- Cross-department findings (published): what no single department can see, one row per
-- (rule, subject). Each rule is a row of the reviewed seed finding_rule (severity, departments
-- to act, enabled) with its parameters in finding_rule_parameter; docs/findings.md explains
-- them. Only active records count as evidence of something to act on (a department can only
-- correct or stop what it still holds), except a death: any record that reports one.
-- finding_id is a keyed hash of rule + subject, so a finding keeps its id across runs while it
-- holds. evidence lists the source records (dataset, key, batch, extract date, the fact each
-- contributes); no ID number, phone or health condition is written in detail or evidence.
-- as_of_date is the newest applied extract date (findings_as_of), never the clock.
with facts as (
    select * from {{ ref('int_findings__record_facts') }}
),

active as (
    select * from facts where record_status = 'active'
),

-- the records that report a death, and each deceased resident's earliest reported death date
death_records as (
    select
        *,
        case when source_dataset = 'police_hukou'
             then '公安：人员状态 死亡' || coalesce('，注销日期 ' || strftime(status_date, '%Y-%m-%d'), '')
             else '卫健：死亡日期 ' || coalesce(strftime(status_date, '%Y-%m-%d'), '不详')
        end as fact
    from facts
    where person_status = 'deceased'
),

deaths as (
    select
        resident_id,
        min(status_date) as death_date,
        -- ordered: the text is compared run to run (the change feed), never in hash order
        string_agg(distinct case department when 'police' then '公安' when 'health' then '卫健'
                                            else department end, '、'
                   order by case department when 'police' then '公安' when 'health' then '卫健'
                                            else department end) as reported_by
    from death_records
    group by resident_id
),

-- (a1) deceased_receiving_assistance: an active 在保 record delivered after the death
a1 as (
    select f.*, d.death_date, d.reported_by,
           '民政：状态 在保，救助类型 ' || coalesce(f.assistance_type, '不详')
           || coalesce('，起始年月 ' || strftime(f.assistance_start_month, '%Y-%m'), '') as fact
    from active as f
    inner join deaths as d on d.resident_id = f.resident_id
    where f.source_dataset = 'civil_assistance'
      and f.source_status = 'active'
      and (d.death_date is null
           or f.dataset_extract_date
              >= d.death_date + cast({{ finding_param('deceased_receiving_assistance', 'grace_days') }} as integer))
),

-- (a2) deceased_actively_insured: an active 正常参保 record while hr's newest extract is
-- dated after the death
a2 as (
    select f.*, d.death_date, d.reported_by,
           '人社：参保状态 正常参保' || coalesce('，就业状态 ' || f.employment_status, '') as fact
    from active as f
    inner join deaths as d on d.resident_id = f.resident_id
    where f.source_dataset = 'hr_insured'
      and f.source_status = 'active'
      and (d.death_date is null
           or f.dataset_extract_date
              >= d.death_date + cast({{ finding_param('deceased_actively_insured', 'grace_days') }} as integer))
),

-- (b) id_number_shared: a valid ID number on active records of more than one resident
shared_ids as (
    select id_number, count(distinct resident_id) as residents
    from active
    where id_number is not null
    group by id_number
    having count(distinct resident_id) > 1
),

b as (
    select
        f.*,
        s.residents,
        '带此身份证号；姓名 ' || coalesce(f.name, '不详')
        || coalesce('，出生 ' || {{ findings_birth_text('f.birth_claim', 'f.birth_claim_precision') }}, '')
        || case when f.link_rule = 'held_id_conflict' or f.id_conflict
                then '，与号码的出生日期/性别不符，未按号码关联' else '' end as fact
    from active as f
    inner join shared_ids as s on s.id_number = f.id_number
),

-- (c) birth_date_conflict: valid birth dates of one resident's active records that cannot
-- be the same day (a month-precision date agrees with every day of its month)
claims as (
    select
        *,
        case birth_claim_precision when 'month' then '出生年月 ' else '出生日期 ' end
        || {{ findings_birth_text('birth_claim', 'birth_claim_precision') }}
        || case when birth_claim_contradicts_id then '（与本记录的身份证号不符）' else '' end
            as fact
    from active
    where birth_claim is not null and birth_claim_precision in ('day', 'month')
),

c_residents as (
    select
        resident_id,
        count(*) as records,
        string_agg(distinct {{ findings_birth_text('birth_claim', 'birth_claim_precision') }}, '、'
                   order by {{ findings_birth_text('birth_claim', 'birth_claim_precision') }})
            as dates
    from claims
    group by resident_id
    having count(distinct date_trunc('month', birth_claim)) > 1
        or count(distinct birth_claim) filter (where birth_claim_precision = 'day') > 1
),

-- (d) elderly_living_alone
d_residents as (
    select *
    from {{ ref('int_resident_living_alone') }}
    where living_alone
      and age_years >= cast({{ finding_param('elderly_living_alone', 'min_age') }} as integer)
),

-- (e) assistance_recipient_employed: a means-tested 在保 record and an active hr record
-- showing employment with an employer
e_civil as (
    select *, '民政：状态 在保，救助类型 ' || assistance_type
              || coalesce('，起始年月 ' || strftime(assistance_start_month, '%Y-%m'), '') as fact
    from active
    where source_dataset = 'civil_assistance'
      and source_status = 'active'
      and list_contains({{ finding_param_list('assistance_recipient_employed', 'assistance_types') }},
                        assistance_type)
),

e_hr as (
    select *, '人社：就业状态 ' || employment_status || '，单位 ' || employer
              || coalesce('，参保状态 ' || insurance_status, '') as fact
    from active
    where source_dataset = 'hr_insured'
      and employer is not null
      and list_contains({{ finding_param_list('assistance_recipient_employed', 'employment_statuses') }},
                        employment_status)
),

e_residents as (
    select resident_id from e_civil
    intersect
    select resident_id from e_hr
),

-- one row per finding: (rule, subject) and the resident it is about
subjects as (
    select 'deceased_receiving_assistance' as rule_id, resident_id as subject, resident_id,
           resident_id as subject_key,
           any_value(reported_by) || '报告死亡（'
           || coalesce(strftime(any_value(death_date), '%Y-%m-%d'), '日期不详')
           || '），民政救助仍在保：' || string_agg(distinct coalesce(assistance_type, '类型不详'), '、'
                                      order by coalesce(assistance_type, '类型不详'))
               as detail
    from a1
    group by resident_id

    union all
    select 'deceased_actively_insured', resident_id, resident_id, resident_id,
           any_value(reported_by) || '报告死亡（'
           || coalesce(strftime(any_value(death_date), '%Y-%m-%d'), '日期不详')
           || '），人社参保仍为正常参保'
    from a2
    group by resident_id

    union all
    select 'id_number_shared', id_number || '|' || resident_id, resident_id,
           {{ stable_id('N', "'shared_id:' || id_number") }},
           '同一身份证号出现在 ' || any_value(residents) || ' 个居民的在册记录上；本居民 '
           || count(*) || ' 条（' || string_agg(distinct source_dataset, '、' order by source_dataset) || '）'
           || case when bool_or(link_rule = 'held_id_conflict' or id_conflict)
                   then '，其出生日期/性别与号码不符' else '' end
    from b
    {{ id_key_join() }}
    group by id_number, resident_id, _ids.id_key

    union all
    select 'birth_date_conflict', resident_id, resident_id, resident_id,
           records || ' 条在册记录的出生日期互相矛盾：' || dates
    from c_residents

    union all
    select 'elderly_living_alone', resident_id, resident_id, resident_id,
           age_years || ' 岁，'
           || case home_basis when 'residence' then '居住地址（楼栋/单元/室）上唯一的在册居民'
                              when 'registration' then '户籍地址（楼栋/单元/室）上唯一的在册居民'
                              else '户内唯一的在册居民' end
    from d_residents

    union all
    select 'assistance_recipient_employed', resident_id, resident_id, resident_id,
           '民政救助在保（' || (select string_agg(distinct c.assistance_type, '、' order by c.assistance_type) from e_civil as c
                                where c.resident_id = e.resident_id)
           || '），人社记录就业单位：' || (select string_agg(distinct h.employer, '、' order by h.employer) from e_hr as h
                                       where h.resident_id = e.resident_id)
    from e_residents as e
),

-- the source records behind each finding and the fact each contributes
evidence as (
    select 'deceased_receiving_assistance' as rule_id, r.resident_id as subject,
           r.source_dataset, r.source_key, r.department, r.last_batch_id, r.last_extract_date, r.fact
    from death_records as r
    where r.resident_id in (select resident_id from a1)
    union all
    select 'deceased_receiving_assistance', resident_id, source_dataset, source_key, department,
           last_batch_id, last_extract_date, fact
    from a1
    union all
    select 'deceased_actively_insured', r.resident_id, r.source_dataset, r.source_key,
           r.department, r.last_batch_id, r.last_extract_date, r.fact
    from death_records as r
    where r.resident_id in (select resident_id from a2)
    union all
    select 'deceased_actively_insured', resident_id, source_dataset, source_key, department,
           last_batch_id, last_extract_date, fact
    from a2
    union all
    select 'id_number_shared', id_number || '|' || resident_id, source_dataset, source_key,
           department, last_batch_id, last_extract_date, fact
    from b
    union all
    select 'birth_date_conflict', resident_id, source_dataset, source_key, department,
           last_batch_id, last_extract_date, fact
    from claims
    where resident_id in (select resident_id from c_residents)
    union all
    select 'elderly_living_alone', f.resident_id, f.source_dataset, f.source_key, f.department,
           f.last_batch_id, f.last_extract_date,
           '在册记录' || coalesce('，出生 '
                                   || {{ findings_birth_text('f.birth_claim', 'f.birth_claim_precision') }}, '')
    from active as f
    where f.resident_id in (select resident_id from d_residents)
    union all
    select 'assistance_recipient_employed', resident_id, source_dataset, source_key, department,
           last_batch_id, last_extract_date, fact
    from e_civil
    where resident_id in (select resident_id from e_residents)
    union all
    select 'assistance_recipient_employed', resident_id, source_dataset, source_key, department,
           last_batch_id, last_extract_date, fact
    from e_hr
    where resident_id in (select resident_id from e_residents)
),

evidence_lists as (
    select
        rule_id,
        subject,
        list({
            'source_dataset': source_dataset,
            'source_key': source_key,
            'department': department,
            'batch_id': last_batch_id,
            'extract_date': last_extract_date,
            'fact': fact
        } order by source_dataset, source_key) as evidence,
        list_sort(list(distinct department)) as evidence_departments
    from evidence
    group by rule_id, subject
)

select
    {{ stable_id('F', "s.rule_id || '|' || s.subject") }} as finding_id,
    s.rule_id,
    r.severity,
    s.resident_id,
    s.subject_key,
    case when r.departments_to_act = 'evidence' then e.evidence_departments
         else list_sort(string_split(r.departments_to_act, '|')) end as departments_to_act,
    s.detail,
    e.evidence,
    len(e.evidence) as evidence_count,
    {{ findings_as_of() }} as as_of_date
from subjects as s
inner join {{ ref('finding_rule') }} as r on r.rule_id = s.rule_id and r.enabled
inner join evidence_lists as e on e.rule_id = s.rule_id and e.subject = s.subject
{{ id_key_join() }}
