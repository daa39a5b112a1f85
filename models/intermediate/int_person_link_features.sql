-- What the entity-resolution step compares, one row per person record (int_person_records),
-- every value already standardised and checked (a value that failed its check is NULL here,
-- never compared): the valid canonical ID; the ID text of a number that is not valid (a wrong
-- check digit, two swapped digits: compared by edit distance, never corrected) and the first
-- 15 digits (all an Excel cell keeps of an ID typed as a number, the last one rounded); name keys (simplified characters, pinyin); birth date at its precision (hr sends a
-- month); sex; phone (E.164); where the record says the person lives (building key, unit,
-- room from int_addresses); and the household a person is in, for a minor's guardian ID
-- (health sends the guardian's ID for a child without one; police and civil affairs list the
-- child beside that parent in one 户 / family).
-- link_id is the row's position in (source_dataset, source_key) order: a compact join key for
-- the pair tables of this run only (it is not stable across runs and is never published).
-- not materialized: its five readers each scan only the columns they need (materialising
-- every column of 2.3M records for them cost about 1 s more at a million persons)
with records as not materialized (
    select * from {{ ref('int_person_records') }}
),

-- the valid IDs of every 户 (police) and family (civil affairs): a child's record lists its
-- household's other members' IDs, which is where a guardian's ID is found
household_ids as (
    select
        source_dataset,
        coalesce(hukou_number, family_no_key) as household_key,
        list(distinct id_number order by id_number) as member_ids
    from (
        select
            source_dataset,
            id_number,
            hukou_number,
            case when source_dataset = 'civil_assistance'
                 then split_part(source_key, '-', 1) end as family_no_key
        from records
        where id_number is not null
          and source_dataset in ('police_hukou', 'civil_assistance')
          and record_status = 'active'
    )
    where coalesce(hukou_number, family_no_key) is not null
    group by all
),

-- A record whose birth date or sex contradicts its own valid ID number, and whose name is
-- unlike every other record's that carries the number (or whose birth date and sex both
-- contradict it), was probably given someone else's number (a parent's ID typed into a child's
-- record): it is not linked on the number; it goes to review (siheyuan.linking.cluster).
id_conflicts as (
    select
        r.source_dataset,
        r.source_key,
        (coalesce(r.birth_date_agrees_with_id, true) = false
            and coalesce(r.sex_agrees_with_id, true) = false)
        or coalesce(max(jaro_winkler_similarity(r.name_pinyin, o.name_pinyin))
                    < {{ var('link_id_conflict_name_similarity') }}, false) as id_conflict
    from records as r
    left join records as o
        on o.id_number = r.id_number
       and (o.source_dataset <> r.source_dataset or o.source_key <> r.source_key)
    where r.id_number is not null
      and (r.birth_date_agrees_with_id = false or r.sex_agrees_with_id = false)
    group by r.source_dataset, r.source_key, r.birth_date_agrees_with_id, r.sex_agrees_with_id
),

features as (
    select
        r.source_dataset,
        r.source_key,
        r.record_status,
        r.last_apply_seq,
        r.first_batch_id,
        {{ key_hash('r.source_key') }} as source_key_hash,
        r.id_number,
        coalesce(c.id_conflict, false) as id_conflict,
        -- an ID text that is not a valid number but has 18 characters: edit distance
        case when r.id_number is null and length(r.id_number_cleaned) = 18
                  and r.id_number_status not in ('excel_mangled', 'bad_chars')
             then r.id_number_cleaned end as id_text_invalid,
        -- the first 15 digits a delivered number shows: a valid or 18-character one's own, or
        -- what a spreadsheet kept of it (15 significant digits, the last one rounded)
        case
            when r.id_number is not null then left(r.id_number, 15)
            when regexp_full_match(r.id_number_cleaned, '[0-9]{17}[0-9X]')
            then left(r.id_number_cleaned, 15)
            when r.id_number_status = 'excel_mangled'
                 and regexp_full_match(r.id_number_cleaned, '[1-9]\.[0-9]+E\+17')
            then left(rpad(regexp_replace(split_part(r.id_number_cleaned, 'E', 1), '\.', ''),
                           15, '0'), 15)
        end as id_head15,
        r.name_normalised,
        r.name_pinyin,
        r.name_initials,
        nullif(regexp_replace(trim(r.former_name), '\s', '', 'g'), '') as former_name,
        r.sex_code,
        strftime(r.birth_date, '%Y%m%d') as birth_day,
        strftime(coalesce(r.birth_date, r.birth_month), '%Y%m') as birth_month,
        r.phone_e164,
        a.building_key,
        a.unit_no,
        a.room_no,
        r.guardian_id_number,
        h.member_ids
    from records as r
    left join {{ ref('int_addresses') }} as a on a.address = r.address
    left join household_ids as h
        on h.source_dataset = r.source_dataset
       and h.household_key = case when r.source_dataset = 'civil_assistance'
                                  then split_part(r.source_key, '-', 1)
                                  else r.hukou_number end
    left join id_conflicts as c
        on c.source_dataset = r.source_dataset and c.source_key = r.source_key
    {{ id_key_join() }}
),

-- numbered on the two key columns alone: a window over the whole feature row sorts every column
-- with it (about half this model's work at 100k); the table's row order is therefore not
-- link_id order (readers that need an order ask for it)
link_ids as (
    select
        source_dataset,
        source_key,
        row_number() over (order by source_dataset, source_key) as link_id
    from records
)

select
    i.link_id,
    f.*
from features as f
inner join link_ids as i on i.source_dataset = f.source_dataset and i.source_key = f.source_key
