-- Special groups (published): the tags a community worker needs on one screen, one row per
-- active resident and tag, with since (a business date when one is known) and the source
-- record that gives the tag. The vocabulary — which tags, their names, the civil-affairs
-- 救助类型 behind each assistance tag, the minimum age of an age tag — is the reviewed seed
-- resident_tag_vocabulary; docs/findings.md explains each. Tags describe living, active
-- residents only: a deceased or moved-out resident still on a department's list is a finding.
with vocab as (
    select * from {{ ref('resident_tag_vocabulary') }} where enabled
),

residents as (
    select resident_id, birth_date, lives_away_from_registration
    from {{ ref('resident') }}
    where status = 'active'
),

facts as (
    select f.*
    from {{ ref('int_findings__record_facts') }} as f
    inner join residents as r on r.resident_id = f.resident_id
    where f.record_status = 'active'
),

-- the active record that best stands for a resident's age: one whose birth date is the
-- resident's (a month-precision one agrees with its month), police hukou first
age_record as (
    select r.resident_id, f.source_dataset, f.source_key
    from residents as r
    inner join facts as f on f.resident_id = r.resident_id
    qualify row_number() over (
        partition by r.resident_id
        order by (f.birth_claim = case f.birth_claim_precision
                                      when 'month' then date_trunc('month', r.birth_date)
                                      else r.birth_date end) desc nulls last,
                 (f.source_dataset = 'police_hukou') desc, f.source_dataset, f.source_key) = 1
),

assistance as (
    select
        f.resident_id,
        v.tag,
        min(f.assistance_start_month) as since,
        arg_min(f.source_dataset, (f.assistance_start_month, f.source_key)) as source_dataset,
        arg_min(f.source_key, (f.assistance_start_month, f.source_key)) as source_key
    from facts as f
    inner join vocab as v on v.civil_assistance_type = f.assistance_type
    where f.source_dataset = 'civil_assistance' and f.source_status = 'active'
    group by f.resident_id, v.tag
),

very_elderly as (
    select
        r.resident_id,
        v.tag,
        cast(r.birth_date + to_years(v.min_age) as date) as since,
        a.source_dataset,
        a.source_key
    from residents as r
    inner join vocab as v on v.tag = 'very_elderly'
    left join age_record as a on a.resident_id = r.resident_id
    where date_sub('year', r.birth_date, {{ findings_as_of() }}) >= v.min_age
),

-- the same residents the elderly_living_alone finding rule reports (its min_age)
elderly_living_alone as (
    select l.resident_id, v.tag, cast(null as date) as since, a.source_dataset, a.source_key
    from {{ ref('int_resident_living_alone') }} as l
    inner join vocab as v on v.tag = 'elderly_living_alone'
    left join age_record as a on a.resident_id = l.resident_id
    where l.living_alone
      and l.age_years >= cast({{ finding_param('elderly_living_alone', 'min_age') }} as integer)
),

floating as (
    select
        f.resident_id,
        v.tag,
        min(f.floating_registration_date) as since,
        arg_min(f.source_dataset, (f.floating_registration_date, f.source_key)) as source_dataset,
        arg_min(f.source_key, (f.floating_registration_date, f.source_key)) as source_key
    from facts as f
    inner join vocab as v on v.tag = 'floating_population'
    where f.source_dataset = 'police_floating'
    group by f.resident_id, v.tag
),

-- 人户分离: the evidence is the newest active record that says where they live
registered_elsewhere as (
    select r.resident_id, v.tag, cast(null as date) as since, f.source_dataset, f.source_key
    from residents as r
    inner join vocab as v on v.tag = 'registered_elsewhere'
    inner join facts as f on f.resident_id = r.resident_id and f.source_dataset <> 'police_hukou'
    where r.lives_away_from_registration
    qualify row_number() over (
        partition by r.resident_id
        order by f.last_extract_date desc, f.source_dataset, f.source_key) = 1
),

tags as (
    select * from assistance
    union all by name select * from very_elderly
    union all by name select * from elderly_living_alone
    union all by name select * from floating
    union all by name select * from registered_elsewhere
)

select
    t.resident_id,
    t.tag,
    v.name_zh as tag_name,
    t.since,
    t.source_dataset,
    t.source_key,
    {{ findings_as_of() }} as as_of_date
from tags as t
inner join vocab as v on v.tag = t.tag
