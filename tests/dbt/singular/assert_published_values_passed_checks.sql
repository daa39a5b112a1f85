-- Invariant (issue 4 §7): no value flagged invalid reaches a published table.
-- Birth dates: never after the latest extract, never before 1880, never contradicting the
-- resident's own ID; phones: only numbers standardisation found valid.
with latest as (
    select max(last_extract_date) as d from {{ ref('int_person_records') }}
)

select r.resident_id, 'birth_date_out_of_range' as problem
from {{ ref('resident') }} as r
cross join latest
where r.birth_date < date '1880-01-01' or r.birth_date > latest.d
union all
select r.resident_id, 'birth_date_contradicts_id'
from {{ ref('resident') }} as r
where r.id_number is not null and r.birth_date <> {{ id_birth_date('r.id_number') }}
union all
select r.resident_id, 'phone_not_valid'
from {{ ref('resident') }} as r
where r.phone_e164 is not null
  and not exists (
      select 1 from {{ ref('int_std__phones') }} as p
      where p.phone_e164 = r.phone_e164 and p.phone_status = 'valid')
union all
select r.resident_id, 'status_date_out_of_range'
from {{ ref('resident') }} as r
cross join latest
where r.status_date < date '1880-01-01' or r.status_date > latest.d
