-- One row per source record ever accepted, with its resident and the department facts the
-- findings (marts.finding) and special-group tags (marts.resident_tag) read: the department
-- that delivered it, the newest extract date of its dataset (what the department knew when),
-- death (police 死亡 / health death_date), the birth date it claims (a valid date at its
-- precision, kept even when it contradicts the record's own ID — that contradiction is what
-- the birth_date_conflict rule reports), the record's valid ID number (never published from
-- here), assistance type and 在保/停保 with 起始年月, hr 参保状态 / 就业状态 / employer, and the
-- floating registration date. Business dates only: each is the department's own date.
with recs as (
    select
        resident_id,
        source_dataset,
        source_key,
        record_status,
        person_status,
        status_date,
        last_batch_id,
        last_extract_date,
        id_conflict,
        link_rule
    from {{ ref('int_resident_records') }}
),

person as (
    select
        source_dataset,
        source_key,
        id_number,
        name,
        birth_date_raw,
        birth_date_status,
        source_status
    from {{ ref('int_person_records') }}
),

-- one row per batch: the registry holds a batch more than once when a rejected file was later
-- accepted (a rejection row and an applied row)
batches as (
    select distinct batch_id, department from {{ source('meta', 'batch') }}
),

-- what each dataset's newest applied batch is dated: a department can only have acted on a
-- death that happened before the extract it last sent
dataset_dates as (
    select dataset as source_dataset, max(extract_date) as dataset_extract_date
    from {{ source('meta', 'batch') }}
    where status = 'applied'
    group by dataset
),

dates as (
    select date_raw, from_spreadsheet, date_value, date_precision
    from {{ ref('int_std__dates') }}
    where date_status = 'valid'
),

civil as (
    select source_key, assistance_type, assistance_status, start_month_raw
    from {{ ref('int_civil_affairs__assistance_current') }}
),

hr as (
    select source_key, insurance_status, employment_status, employer
    from {{ ref('int_hr__insured_current') }}
),

floating as (
    select source_key, registration_date_raw
    from {{ ref('int_police__floating_current') }}
)

select
    r.resident_id,
    r.source_dataset,
    r.source_key,
    b.department,
    r.record_status,
    r.person_status,
    r.status_date,
    r.last_batch_id,
    r.last_extract_date,
    dd.dataset_extract_date,
    r.id_conflict,
    r.link_rule,
    p.id_number,
    p.name,
    p.source_status,
    -- the birth date the record claims: valid, or valid but contradicting its own ID
    case when p.birth_date_status in ('valid', 'id_mismatch') then bd.date_value end
        as birth_claim,
    case when p.birth_date_status in ('valid', 'id_mismatch') then bd.date_precision end
        as birth_claim_precision,
    p.birth_date_status = 'id_mismatch' as birth_claim_contradicts_id,
    c.assistance_type,
    c.assistance_status,
    sm.date_value as assistance_start_month,
    h.insurance_status,
    h.employment_status,
    h.employer,
    rd.date_value as floating_registration_date
from recs as r
inner join person as p
    on p.source_dataset = r.source_dataset and p.source_key = r.source_key
left join batches as b on b.batch_id = r.last_batch_id
left join dataset_dates as dd on dd.source_dataset = r.source_dataset
left join dates as bd
    on bd.date_raw = p.birth_date_raw
   and bd.from_spreadsheet = (r.source_dataset = 'civil_assistance')
left join civil as c on r.source_dataset = 'civil_assistance' and c.source_key = r.source_key
left join dates as sm on sm.date_raw = c.start_month_raw and sm.from_spreadsheet
left join hr as h on r.source_dataset = 'hr_insured' and h.source_key = r.source_key
left join floating as f on r.source_dataset = 'police_floating' and f.source_key = r.source_key
left join dates as rd on rd.date_raw = f.registration_date_raw and not rd.from_spreadsheet
