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
--   tie-breaks   the extract date, apply_seq and row of the row that delivered the record's
--                current values (newest first), dataset, key —
--                load order decides only between otherwise equal records, never before.
-- A follower attribute (`follows`: name_pinyin, phone_kind, residence unit/room/source,
-- status_date) is offered by the same records in the same order as its leader, so it comes
-- from the leader's surviving record (its value may be NULL there).
-- Values that failed their checks are NULL in int_person_records and are never offered.
-- business_date is the date the rule read: the record's own business date (its department's
-- 注销/登记/起始/updated_at/变更 date) or, for status, the date of the status it states.
-- Lineage and the last tie-breaks read the row that delivered the record's current values
-- (value_batch_id …, int_person_records), not the latest batch that listed it: a snapshot
-- re-lists every record, and its candidates must not change when its values did not.
--
-- Incremental (docs/scaling.md): a resident's candidates depend only on its own records, so a
-- run re-ranks only the residents whose inputs changed. resident_hash is a hash over every
-- input column of every one of the resident's records (`stated`, less the lineage that moves
-- with each re-delivery and the link columns this model does not read) and over the model's
-- own text and its two seeds; a resident whose (id, hash) the previous table holds keeps its
-- rows, the others are deleted and ranked again (delete+insert on resident_id), and a resident
-- that no longer exists is deleted by the post-hook. A changed model or seed changes every
-- hash: everything is ranked again. tests/dbt/test_models.py pins it against a full build.
{{ config(**per_resident_incremental('int_resident_records')) }}
{%- set unread = ['resident_id', 'last_batch_id', 'last_apply_seq', 'last_extract_date',
                  'last_file_name', 'last_row_number', 'survivor_rank',
                  'link_rule', 'link_match_weight', 'linked_to_dataset', 'linked_to_key'] %}
with shared as (
    -- valid ID numbers on records of more than one resident: a steward's cannot-link said the
    -- records are different people, so whose number it is is unknown — no resident gets it
    -- (the id_number_shared finding reports it)
    select id_number
    from {{ ref('int_resident_records') }}
    where id_number is not null and not coalesce(id_conflict, false)
    group by id_number
    having count(distinct resident_id) > 1
),

recs as (
    select
        r.*,
        -- a record held out of its ID's cluster (id_conflict) does not give its ID
        case when r.id_number is not null and not coalesce(r.id_conflict, false)
                  and r.id_number not in (select id_number from shared)
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

stated as materialized (
    select
        *,
        case
            when status_value = 'deceased' then status_date
            when status_value = 'moved_out' and source_dataset = 'police_hukou'
            then coalesce(status_date, ended_extract_date)
            when status_value = 'moved_out' then ended_extract_date
        end as status_value_date,
        -- status precedence: a dated death, any death, the police registration's word
        -- (active before moved out): the hukou's, else the floating population
        -- registration's — a floating resident whose 居住登记 has ended has left, although a
        -- health archive or an insurance record of theirs may stay open for months —, then
        -- any active record, then ended ones
        case
            when status_value = 'deceased' and status_date is not null then 0
            when status_value = 'deceased' then 1
            when source_dataset = 'police_hukou' and status_value = 'active' then 2
            when source_dataset = 'police_hukou' then 3
            when source_dataset = 'police_floating' and status_value = 'active' then 4
            when source_dataset = 'police_floating' then 5
            when status_value = 'active' then 6
            else 7
        end as status_preference,
        -- a death or a police registration's word is stated by the department; any other
        -- record's active/ended is only its activity (an ended assistance is not a move)
        case when status_value = 'deceased'
                  or source_dataset in ('police_hukou', 'police_floating')
             then 'record' else 'activity' end as status_origin,
        case when phone_kind = 'mobile' then 0 else 1 end as phone_preference
    from derived
),

{#- attribute: (offered when, value, value_origin, preference, business_date) -#}
{%- set rec = "'record'" -%}
{%- set status_date = "coalesce(status_value_date, business_date)" -%}
{%- set offers = [
    ('id_number', 'usable_id is not null', 'usable_id', rec, '0', 'business_date'),
    ('name', 'name is not null', 'name', rec, '0', 'business_date'),
    ('name_pinyin', 'name is not null', 'name_pinyin', rec, '0', 'business_date'),
    ('former_name', 'former_name is not null', 'former_name', rec, '0', 'business_date'),
    ('sex_code', 'coalesce(id_sex, sex_code) is not null', 'coalesce(id_sex, sex_code)',
     "case when id_sex is not null then 'id_number' else 'record' end",
     'case when id_sex is not null then 0 else 1 end', 'business_date'),
    ('ethnicity_code', 'ethnicity_code is not null', 'ethnicity_code', rec, '0', 'business_date'),
    ('birth_date', 'coalesce(id_birth, birth_date) is not null',
     'cast(coalesce(id_birth, birth_date) as varchar)',
     "case when id_birth is not null then 'id_number' else 'record' end",
     'case when id_birth is not null then 0 else 1 end', 'business_date'),
    ('phone_e164', 'phone_e164 is not null', 'phone_e164', rec, 'phone_preference',
     'business_date'),
    ('phone_kind', 'phone_e164 is not null', 'phone_kind', rec, 'phone_preference',
     'business_date'),
    ('registered_building_id', 'building_key is not null', 'building_key', rec, '0',
     'business_date'),
    ('residence_building_id', 'building_key is not null', 'building_key', rec, '0',
     'business_date'),
    ('residence_unit_no', 'building_key is not null', 'unit_no', rec, '0', 'business_date'),
    ('residence_room_no', 'building_key is not null', 'room_no', rec, '0', 'business_date'),
    ('residence_source', 'building_key is not null', 'source_dataset', rec, '0',
     'business_date'),
    ('status', 'true', 'status_value', 'status_origin', 'status_preference', status_date),
    ('status_date', 'true', 'cast(status_value_date as varchar)', 'status_origin',
     'status_preference', status_date),
] %}

fingerprint as (
    select md5(
        '{{ model.checksum.checksum }}'
        || (select string_agg(cast(r as varchar), '|' order by r.attribute)
            from {{ ref('survivorship_rules') }} as r)
        || (select string_agg(cast(t as varchar), '|' order by t.attribute, t.source_dataset)
            from {{ ref('survivorship_trust_order') }} as t)
    ) as fingerprint
),

-- 64-bit hashes (DuckDB's hash of the columns; the records' combined by XOR, which needs no
-- sort): a resident whose inputs changed is kept only if its new hash equals its old one
-- (odds 2^-64). An MD5 text carried on each of ~28M rows through the ranking window cost
-- 17 s at a million persons; eight bytes cost about 4 s.
resident_hashes as (
    select
        h.resident_id,
        hash(any_value(f.fingerprint), bit_xor(h.record_hash)) as resident_hash
    from (
        select
            resident_id,
            hash(*columns(* exclude ({{ unread | join(', ') }}))) as record_hash
        from stated
    ) as h
    cross join fingerprint as f
    group by h.resident_id
),

-- the residents ranked in this run: all of them, or those whose hash the table lacks. The
-- table is read on one row per resident (its surviving status: every record offers a
-- status); a resident without one is simply ranked again every run.
pending as (
    select h.resident_id, h.resident_hash
    from resident_hashes as h
    {%- if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as t
        where t.attribute = 'status' and t.rule_rank = 1
          and t.resident_id = h.resident_id and t.resident_hash = h.resident_hash
    )
    {%- endif %}
),

pending_stated as materialized (
    select s.*, p.resident_hash
    from stated as s
    inner join pending as p on p.resident_id = s.resident_id
),

-- one branch per attribute (a UNION ALL of plain scans is much faster in DuckDB than a
-- lateral unnest of a list of structs per record)
offered as (
    {%- for attribute, offered_when, value, origin, preference, business_date in offers %}
    select
        resident_id,
        resident_hash,
        source_dataset,
        source_key,
        value_batch_id,
        record_status,
        value_extract_date,
        value_apply_seq,
        value_row_number,
        '{{ attribute }}' as attribute,
        cast({{ value }} as varchar) as value,
        {{ origin }} as value_origin,
        cast({{ preference }} as integer) as preference,
        cast({{ business_date }} as date) as business_date
    from pending_stated
    where {{ offered_when }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
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
    c.value_batch_id,
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
        per_attribute
        order by
            c.preference,
            case when rl.records = 'active_first' and c.record_status <> 'active' then 1 else 0 end,
            case when rl.method = 'trust_then_recency' then t.trust_rank else 0 end,
            c.business_date desc nulls last,
            t.trust_rank,
            c.value_extract_date desc, c.value_apply_seq desc, c.value_row_number desc,
            c.source_dataset, c.source_key
    ) as rule_rank,
    -- the group's counts for resident_attribute_lineage and _conflict, in the same window
    -- (one partitioning of the ~28M candidates at 1M persons instead of two more group-bys
    -- over them downstream: lineage 35 s -> 13 s for about 10 s here):
    -- candidate_count: candidates that offer a value; distinct_value_count: distinct values
    -- among those the rule compares (compared, below)
    count(c.value) over per_attribute as candidate_count,
    count(distinct c.value) filter (
        where c.value is not null
          and (rl.conflicts <> 'stated' or c.value_origin <> 'activity')
    ) over per_attribute as distinct_value_count,
    c.resident_hash,
    -- the dbt invocation that wrote the row: the uniqueness test checks only what a build wrote
    '{{ invocation_id }}' as built_by
from offered as c
inner join rules as rl on rl.attribute = c.attribute
-- a dataset not in the attribute's trust order does not give it
inner join {{ ref('survivorship_trust_order') }} as t
    on t.attribute = rl.rank_attribute and t.source_dataset = c.source_dataset
where rl.records <> 'active_only' or c.record_status = 'active'
window per_attribute as (partition by c.resident_id, c.attribute)
