{#- Current state of a dataset from its staging model (all batches' rows).

    One row per source key ever seen, carrying the key's last version plus:
      record_status      'active' | 'ended'
      end_reason         'missing_from_snapshot' | 'deleted_in_source' | NULL
      ended_extract_date extract date of the batch that ended the record
      first_batch_id, last_batch_id, last_apply_seq, last_extract_date,
      last_file_name, last_row_number, batch_count
      value_batch_id, value_apply_seq, value_extract_date, value_row_number
                         the row that delivered the key's current values: in a snapshot the
                         first of its latest rows carrying the same values as its last one
                         (a snapshot re-lists every record each time, so last_* move every
                         month while value_* move only when the department changed the
                         record); in a delta the last row (a delta line is a change)
    Ordering everywhere is (apply_seq, row_number): a later batch wins, and within one
    batch a repeated key's last row wins (the ingest quarantines a snapshot's conflicting repeats
    and keeps the last row). -#}

{#- Snapshot (全量) semantics: the latest applied batch of the dataset is the current list;
    a key whose last row is in an earlier batch has ended — unless the latest batch did list it
    but its row was quarantined: the department still lists the record, so it keeps its
    previous version (carried_forward = true) instead of ending. -#}
{% macro current_snapshot(stg, dataset) -%}
    {{ _current_state(stg, dataset, 'snapshot') }}
{%- endmacro %}

{#- Delta (增量) semantics: the latest row per key wins; op 'delete' ends the record.
    A delete line is the department's latest word on the record, so a value it carries wins;
    a value it leaves empty comes from the key's latest non-delete row (health's D lines may
    carry only the key, hr's 注销 rows carry the whole record). -#}
{% macro current_delta(stg, dataset) -%}
    {{ _current_state(stg, dataset, 'delta') }}
{%- endmacro %}

{% macro _current_state(stg, dataset, kind) %}
{%- set lineage = ['batch_id', 'apply_seq', 'extract_date', 'file_name', 'file_sha256',
                   'row_number', 'ingested_at', 'source_key', 'op'] -%}
{%- set attrs = [] %}
{%- if execute %}
    {%- for c in adapter.get_columns_in_relation(stg) if c.name not in lineage %}
        {%- do attrs.append(c.name) %}
    {%- endfor %}
{%- endif %}
with src as (
    select * from {{ stg }}
),

-- every applied batch of the dataset: meta.batch, plus any batch present in raw
batches as (
    select apply_seq, extract_date, batch_id
    from {{ source('meta', 'batch') }}
    where dataset = '{{ dataset }}' and status = 'applied'
    union
    select distinct apply_seq, extract_date, batch_id from src
),

latest_batch as (
    select max(apply_seq) as apply_seq from batches
),

{%- if kind == 'snapshot' %}
-- keys the latest batch listed on rows that were quarantined
-- (joined on the keyed hash: the stored source_key is masked, and a key such as civil
-- affairs' 15-digit 家庭编号 or hr's ID number would never match its masked form)
quarantined_in_latest as (
    select distinct q.source_key_hash
    from {{ source('meta', 'quarantine') }} as q
    inner join {{ source('meta', 'batch') }} as b
        on b.batch_id = q.batch_id and b.status = 'applied'
    where q.dataset = '{{ dataset }}' and q.source_key_hash is not null
      and b.apply_seq = (select apply_seq from latest_batch)
),
{%- endif %}

-- per key: its first batch, and the position (batch, then row) of its latest row, which
-- decides status and lineage{% if kind == 'delta' %}, and of the row whose attribute values
-- describe it: its latest non-delete row, when it has one (that row fills what a delete line
-- leaves empty){% else %} and, in a snapshot, also gives the attribute values{% endif %}.
-- The rows are then picked by position with a join: a window over whole raw rows carried
-- every column through its sort (35-45 % slower at a million persons, the same rows).
per_key as (
    select
        source_key,
        arg_min(batch_id, apply_seq) as first_batch_id,
        count(distinct batch_id) as batch_count,
        max({{ _position() }}) as last_pos
        {%- if kind == 'delta' %},
        coalesce(
            max({{ _position() }}) filter (where op <> 'delete'),
            max({{ _position() }}) filter (where op = 'delete'),
            max({{ _position() }})
        ) as attr_pos
        {%- endif %}
    from src
    group by source_key
),

last_row as (
    select s.*
    from src as s
    inner join per_key as p
        on p.source_key = s.source_key and p.last_pos = {{ _position('s.') }}
),
{%- if kind == 'snapshot' %}

-- value lineage: each row's values hashed (the attribute columns, not its lineage); the key's
-- last change is its latest row whose values differ from its last row's, and its values were
-- delivered by the first row after that (a key that left a snapshot and came back unchanged
-- keeps its earlier row: record_status and ended_extract_date say it was away)
hashed as materialized (
    select
        source_key,
        {{ _position() }} as pos,
        md5(cast(row(
            {%- for c in attrs %}"{{ c }}"{% if not loop.last %}, {% endif %}{% endfor -%}
        ) as varchar)) as row_hash
    from src
),

last_hash as (
    select h.source_key, h.row_hash
    from hashed as h
    inner join per_key as p on p.source_key = h.source_key and p.last_pos = h.pos
),

last_change as (
    select h.source_key, max(h.pos) as change_pos
    from hashed as h
    inner join last_hash as lh on lh.source_key = h.source_key
    where h.row_hash <> lh.row_hash
    group by h.source_key
),

value_pos as (
    select h.source_key, min(h.pos) as value_pos
    from hashed as h
    left join last_change as c on c.source_key = h.source_key
    where h.pos > coalesce(c.change_pos, -1)
    group by h.source_key
)
{%- endif %}
{%- if kind == 'delta' %}

attr_row as (
    select s.*
    from src as s
    inner join per_key as p
        on p.source_key = s.source_key and p.attr_pos = {{ _position('s.') }}
)
{%- endif %}

select
    '{{ dataset }}' as source_dataset,
    l.source_key,
    {%- if kind == 'snapshot' %}
    case when l.apply_seq = lb.apply_seq or qk.source_key_hash is not null
        then 'active' else 'ended' end as record_status,
    case when l.apply_seq = lb.apply_seq or qk.source_key_hash is not null
        then null else 'missing_from_snapshot' end as end_reason,
    case when l.apply_seq < lb.apply_seq and qk.source_key_hash is null then
        (select min(b.extract_date) from batches as b where b.apply_seq > l.apply_seq)
    end as ended_extract_date,
    (l.apply_seq < lb.apply_seq and qk.source_key_hash is not null) as carried_forward,
    {%- else %}
    case when l.op = 'delete' then 'ended' else 'active' end as record_status,
    case when l.op = 'delete' then 'deleted_in_source' end as end_reason,
    case when l.op = 'delete' then l.extract_date end as ended_extract_date,
    false as carried_forward,
    {%- endif %}
    k.first_batch_id,
    l.batch_id as last_batch_id,
    l.apply_seq as last_apply_seq,
    l.extract_date as last_extract_date,
    l.file_name as last_file_name,
    l.row_number as last_row_number,
    k.batch_count,
    {%- if kind == 'snapshot' %}
    vb.batch_id as value_batch_id,
    vb.apply_seq as value_apply_seq,
    vb.extract_date as value_extract_date,
    cast(v.value_pos % 4294967296 as bigint) as value_row_number,
    {%- else %}
    l.batch_id as value_batch_id,
    l.apply_seq as value_apply_seq,
    l.extract_date as value_extract_date,
    l.row_number as value_row_number,
    {%- endif %}
    {%- if kind == 'delta' %}
    {%- for c in attrs %}
    coalesce(l."{{ c }}", a."{{ c }}") as "{{ c }}"{% if not loop.last %},{% endif %}
    {%- else %}
    a.* exclude ({{ lineage | join(', ') }})
    {%- endfor %}
    {%- else %}
    l.* exclude ({{ lineage | join(', ') }})
    {%- endif %}
from last_row as l
{%- if kind == 'delta' %}
inner join attr_row as a on a.source_key = l.source_key
{%- endif %}
inner join per_key as k on k.source_key = l.source_key
cross join latest_batch as lb
{%- if kind == 'snapshot' %}
inner join value_pos as v on v.source_key = l.source_key
inner join batches as vb on vb.apply_seq = v.value_pos // 4294967296
{{ id_key_join() }}
left join quarantined_in_latest as qk on qk.source_key_hash = {{ key_hash('l.source_key') }}
{%- endif %}
{% endmacro %}

{#- A raw row's position in its dataset's history: batch (apply_seq), then row in the batch. -#}
{% macro _position(prefix='') -%}
    ({{ prefix }}apply_seq::bigint * 4294967296 + {{ prefix }}row_number)
{%- endmacro %}
