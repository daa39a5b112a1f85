{#- Helpers for joining the standardised values (int_std__* models, code seeds) back. -#}

{#- A delivered code as its two-digit table form: '1' -> '01'; other text unchanged. -#}
{% macro code_text(expr) -%}
    case when regexp_full_match({{ expr }}, '\d{1,2}') then lpad({{ expr }}, 2, '0') else {{ expr }} end
{%- endmacro %}

{#- Status of a date joined from int_std__dates (alias) for one record: the reading's status,
    and 'future' when the date lies after the extract date of the batch that delivered it. -#}
{% macro std_date_status(alias, raw_expr, extract_date_expr) -%}
    case
        when {{ raw_expr }} is null then 'empty'
        when {{ alias }}.date_status <> 'valid' then {{ alias }}.date_status
        when {{ alias }}.date_value > {{ extract_date_expr }} then 'future'
        else 'valid'
    end
{%- endmacro %}
