{#- Stable, non-reversible ids: prefix || first 16 hex chars of sha256(id_key | anchor).
    id_key is the per-warehouse secret in meta.settings (name = 'id_key'); it is read from
    the table at run time, so it never appears in compiled SQL. A missing key fails the
    build loudly instead of silently producing unkeyed hashes. -#}
{% macro id_key() -%}
    coalesce(
        (select max(value) from {{ source('meta', 'settings') }} where name = 'id_key' and value <> ''),
        error('meta.settings has no id_key row: run the ingest/init step first')
    )
{%- endmacro %}

{% macro stable_id(prefix, anchor_expr, key_expr='_ids.id_key') -%}
    ('{{ prefix }}' || left(sha256({{ key_expr }} || '|' || ({{ anchor_expr }})), 16))
{%- endmacro %}

{#- sha256(id_key | key), full: how meta.quarantine.source_key_hash is written (Python
    siheyuan.warehouse.key_hash), so a masked key can still be joined on. -#}
{% macro key_hash(key_expr, id_key_expr='_ids.id_key') -%}
    sha256({{ id_key_expr }} || '|' || ({{ key_expr }}))
{%- endmacro %}

{#- The join that provides _ids.id_key to stable_id(). -#}
{% macro id_key_join() -%}
    cross join (select {{ id_key() }} as id_key) as _ids
{%- endmacro %}

{#- A review pair's id: stable across runs (it names the two records by dataset and key hash,
    not by this run's link ids) and the same whichever record is called left. -#}
{% macro link_pair_id(left_dataset, left_hash, right_dataset, right_hash) -%}
    ('P' || left(sha256(
        least({{ left_dataset }} || ':' || {{ left_hash }}, {{ right_dataset }} || ':' || {{ right_hash }})
        || '|' ||
        greatest({{ left_dataset }} || ':' || {{ left_hash }}, {{ right_dataset }} || ':' || {{ right_hash }})
    ), 16))
{%- endmacro %}
