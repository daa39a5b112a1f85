{#- Staging helpers: lineage columns renamed, contract columns typed honestly. -#}

{% macro stg_lineage() -%}
    _batch_id as batch_id,
    _apply_seq as apply_seq,
    _extract_date as extract_date,
    _file_name as file_name,
    _file_sha256 as file_sha256,
    _row_number as row_number,
    _ingested_at as ingested_at,
    _source_key as source_key,
    _op as op
{%- endmacro %}

{#- string: trimmed raw text (NULL when empty). -#}
{% macro stg_string(col, field) -%}
    {{ clean_text('"' ~ col ~ '"') }} as {{ field }}
{%- endmacro %}

{#- Typed field: `<field>_raw` keeps the trimmed text, `<field>` the parsed value (NULL when
    it does not parse with the contract's declared formats). -#}
{% macro stg_typed(col, field, type, formats=none) -%}
    {%- set raw = clean_text('"' ~ col ~ '"') -%}
    {{ raw }} as {{ field }}_raw,
    {%- if type in ('date', 'month') %}
    {{ parse_date(raw, formats) }} as {{ field }}
    {%- elif type == 'integer' %}
    try_cast({{ raw }} as bigint) as {{ field }}
    {%- elif type == 'decimal' %}
    try_cast({{ raw }} as decimal(14, 2)) as {{ field }}
    {%- elif type == 'timestamp' %}
    try_cast({{ raw }} as timestamp) as {{ field }}
    {%- elif type == 'string_list' %}
    case when json_valid({{ raw }}) then try_cast(json({{ raw }}) as varchar[]) end as {{ field }}
    {%- else %}
    {{ exceptions.raise_compiler_error('stg_typed: unknown type ' ~ type) }}
    {%- endif %}
{%- endmacro %}
