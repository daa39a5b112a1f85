-- Survivorship, step 1: every value a resident's source records offer for each published
-- resident attribute, ranked by the attribute's rule (seeds survivorship_rules and
-- survivorship_trust_order, docs/survivorship.md). rule_rank = 1 is the survivor that
-- marts.resident publishes; the rest stay visible (marts.resident_attribute_conflict).
--
-- One unpivot of int_resident_records (one row per record x attribute it offers) and one
-- window over (resident_id, attribute): no per-attribute self-joins. The order is
--   preference   the rule's `prefer` (a value read from the record's valid ID number first,
--                a mobile before a landline, the status precedence), then
--   active       active records first (rule `records` = active_first; active_only records
--                never offer), then
--   trust/recency by `method`: trust_then_recency = trust_rank, then business_date (newest
--                first); recency_then_trust = business_date, then trust_rank, then
--   tie-breaks   the record's extract date, apply_seq and row (newest first), dataset, key —
--                load order decides only between otherwise equal records, never before.
-- A follower attribute (`follows`: name_pinyin, phone_kind, residence unit/room/source,
-- status_date) is offered by the same records in the same order as its leader, so it comes
-- from the leader's surviving record (its value may be NULL there).
-- Values that failed their checks are NULL in int_person_records and are never offered.
-- business_date is the date the rule read: the record's own business date (its department's
-- 注销/登记/起始/updated_at/变更 date) or, for status, the date of the status it states.
with recs as (
    select
        r.*,
        -- a record held out of its ID's cluster (id_conflict) does not give its ID
        case when r.id_number is not null and not coalesce(r.id_conflict, false)
             then r.id_number end as usable_id
    from {{ ref('int_resident_records') }} as r
),

derived as (
    select
        *,
        case when usable_id is not null
             then case when cast(substr(usable_id, 17, 1) as integer) % 2 = 1 then '1' else '2' end
        end as id_sex,
        {{ id_birth_date('usable_id') }} as id_birth,
        -- what the record says about the resident's status
        case
            when person_status = 'deceased' then 'deceased'
            when source_dataset = 'police_hukou'
            then case when record_status = 'active' and person_status = 'active'
                      then 'active' else 'moved_out' end
            when record_status = 'active' then 'active'
            else 'moved_out'
        end as status_value
    from recs
),

stated as (
    select
        *,
        case
            when status_value = 'deceased' then status_date
            when status_value = 'moved_out' and source_dataset = 'police_hukou'
            then coalesce(status_date, ended_extract_date)
            when status_value = 'moved_out' then ended_extract_date
        end as status_value_date,
        -- status precedence: a dated death, any death, the police registration's word
        -- (active before moved out), any active record, then ended ones
        case
            when status_value = 'deceased' and status_date is not null then 0
            when status_value = 'deceased' then 1
            when source_dataset = 'police_hukou' and status_value = 'active' then 2
            when source_dataset = 'police_hukou' then 3
            when status_value = 'active' then 4
            else 5
        end as status_preference,
        -- a death or the police registration's word is stated by the department; any other
        -- record's active/ended is only its activity (an ended assistance is not a move)
        case when status_value = 'deceased' or source_dataset = 'police_hukou'
             then 'record' else 'activity' end as status_origin,
        case when phone_kind = 'mobile' then 0 else 1 end as phone_preference
    from derived
),

offered as (
    select
        s.resident_id,
        s.source_dataset,
        s.source_key,
        s.last_batch_id,
        s.record_status,
        s.last_extract_date,
        s.last_apply_seq,
        s.last_row_number,
        o.attribute,
        o.value,
        o.value_origin,
        o.preference,
        o.business_date
    from stated as s,
        unnest([
            {'attribute': 'id_number', 'offered': s.usable_id is not null,
             'value': s.usable_id, 'value_origin': 'record', 'preference': 0,
             'business_date': s.business_date},
            {'attribute': 'name', 'offered': s.name is not null,
             'value': s.name, 'value_origin': 'record', 'preference': 0,
             'business_date': s.business_date},
            {'attribute': 'name_pinyin', 'offered': s.name is not null,
             'value': s.name_pinyin, 'value_origin': 'record', 'preference': 0,
             'business_date': s.business_date},
            {'attribute': 'former_name', 'offered': s.former_name is not null,
             'value': s.former_name, 'value_origin': 'record', 'preference': 0,
             'business_date': s.business_date},
            {'attribute': 'sex_code', 'offered': coalesce(s.id_sex, s.sex_code) is not null,
             'value': coalesce(s.id_sex, s.sex_code),
             'value_origin': case when s.id_sex is not null then 'id_number' else 'record' end,
             'preference': case when s.id_sex is not null then 0 else 1 end,
             'business_date': s.business_date},
            {'attribute': 'ethnicity_code', 'offered': s.ethnicity_code is not null,
             'value': s.ethnicity_code, 'value_origin': 'record', 'preference': 0,
             'business_date': s.business_date},
            {'attribute': 'birth_date', 'offered': coalesce(s.id_birth, s.birth_date) is not null,
             'value': cast(coalesce(s.id_birth, s.birth_date) as varchar),
             'value_origin': case when s.id_birth is not null then 'id_number' else 'record' end,
             'preference': case when s.id_birth is not null then 0 else 1 end,
             'business_date': s.business_date},
            {'attribute': 'phone_e164', 'offered': s.phone_e164 is not null,
             'value': s.phone_e164, 'value_origin': 'record', 'preference': s.phone_preference,
             'business_date': s.business_date},
            {'attribute': 'phone_kind', 'offered': s.phone_e164 is not null,
             'value': s.phone_kind, 'value_origin': 'record', 'preference': s.phone_preference,
             'business_date': s.business_date},
            {'attribute': 'registered_building_id', 'offered': s.building_key is not null,
             'value': s.building_key, 'value_origin': 'record', 'preference': 0,
             'business_date': s.business_date},
            {'attribute': 'residence_building_id', 'offered': s.building_key is not null,
             'value': s.building_key, 'value_origin': 'record', 'preference': 0,
             'business_date': s.business_date},
            {'attribute': 'residence_unit_no', 'offered': s.building_key is not null,
             'value': s.unit_no, 'value_origin': 'record', 'preference': 0,
             'business_date': s.business_date},
            {'attribute': 'residence_room_no', 'offered': s.building_key is not null,
             'value': s.room_no, 'value_origin': 'record', 'preference': 0,
             'business_date': s.business_date},
            {'attribute': 'residence_source', 'offered': s.building_key is not null,
             'value': s.source_dataset, 'value_origin': 'record', 'preference': 0,
             'business_date': s.business_date},
            {'attribute': 'status', 'offered': true,
             'value': s.status_value, 'value_origin': s.status_origin,
             'preference': s.status_preference,
             'business_date': coalesce(s.status_value_date, s.business_date)},
            {'attribute': 'status_date', 'offered': true,
             'value': cast(s.status_value_date as varchar), 'value_origin': s.status_origin,
             'preference': s.status_preference,
             'business_date': coalesce(s.status_value_date, s.business_date)}
        ]) as u(o)
    where o.offered
),

rules as (
    select
        r.attribute,
        r.rule,
        coalesce(nullif(r.follows, ''), r.attribute) as rank_attribute,
        r.conflicts,
        lead.method,
        lead.records
    from {{ ref('survivorship_rules') }} as r
    inner join {{ ref('survivorship_rules') }} as lead
        on lead.attribute = coalesce(nullif(r.follows, ''), r.attribute)
)

select
    c.resident_id,
    c.attribute,
    c.value,
    -- 'id_number': read from the record's valid ID number; 'record': the record's own value;
    -- 'activity' (status): read from whether the record is active, not stated by it
    c.value_origin,
    c.source_dataset,
    c.source_key,
    c.last_batch_id,
    c.record_status,
    c.business_date,
    rl.rule,
    t.trust_rank,
    c.preference,
    -- whether the value counts when values are compared (conflicts, distinct_value_count):
    -- rule conflicts = values: every value; stated: not the ones read from activity
    c.value is not null
        and (rl.conflicts <> 'stated' or c.value_origin <> 'activity') as compared,
    rl.conflicts <> 'none' as conflicts_reported,
    row_number() over (
        partition by c.resident_id, c.attribute
        order by
            c.preference,
            case when rl.records = 'active_first' and c.record_status <> 'active' then 1 else 0 end,
            case when rl.method = 'trust_then_recency' then t.trust_rank else 0 end,
            c.business_date desc nulls last,
            t.trust_rank,
            c.last_extract_date desc, c.last_apply_seq desc, c.last_row_number desc,
            c.source_dataset, c.source_key
    ) as rule_rank
from offered as c
inner join rules as rl on rl.attribute = c.attribute
-- a dataset not in the attribute's trust order does not give it
inner join {{ ref('survivorship_trust_order') }} as t
    on t.attribute = rl.rank_attribute and t.source_dataset = c.source_dataset
where rl.records <> 'active_only' or c.record_status = 'active'
