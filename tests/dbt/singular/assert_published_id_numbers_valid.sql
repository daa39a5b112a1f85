-- Invariant (issue 4 §7): a published id_number is a valid canonical 18-digit citizen ID —
-- right shape, right MOD 11-2 check character, and the canonical form of some delivered ID
-- that standardisation accepted (valid / converted_15) — or NULL.
select r.resident_id, 'bad_shape_or_check' as problem
from {{ ref('resident') }} as r
where r.id_number is not null
  and (not regexp_full_match(r.id_number, '\d{17}[\dX]')
       or {{ id_check_char('r.id_number') }} <> substr(r.id_number, 18, 1))
union all
select r.resident_id, 'not_from_an_accepted_id'
from {{ ref('resident') }} as r
where r.id_number is not null
  and not exists (
      select 1 from {{ ref('int_std__id_numbers') }} as s
      where s.id_number = r.id_number and s.id_number_status in ('valid', 'converted_15'))
