{#- Address helpers (simple and honest; a later issue writes the full parser). -#}

{#- Chinese numeral 一..九十九 (or ASCII digits) to a digit string; NULL when it is neither. -#}
{% macro cn_small_number(expr) -%}
    {%- set d = "translate(%s, '一二三四五六七八九', '123456789')" -%}
    case
        when regexp_full_match({{ expr }}, '\d+') then cast(try_cast({{ expr }} as bigint) as varchar)
        when {{ expr }} = '十' then '10'
        when regexp_full_match({{ expr }}, '[一二三四五六七八九]') then {{ d % expr }}
        when regexp_full_match({{ expr }}, '十[一二三四五六七八九]')
            then '1' || {{ d % ('substr(' ~ expr ~ ', 2, 1)') }}
        when regexp_full_match({{ expr }}, '[一二三四五六七八九]十')
            then {{ d % ('substr(' ~ expr ~ ', 1, 1)') }} || '0'
        when regexp_full_match({{ expr }}, '[一二三四五六七八九]十[一二三四五六七八九]')
            then {{ d % ('substr(' ~ expr ~ ', 1, 1)') }} || {{ d % ('substr(' ~ expr ~ ', 3, 1)') }}
    end
{%- endmacro %}

{#- Leading part of `text` matching `pattern` (group 1), NULL when absent. -#}
{% macro leading_part(text, pattern) -%}
    nullif(regexp_extract({{ text }}, '^({{ pattern }})', 1), '')
{%- endmacro %}

{#- `text` without its leading `part` (part may be NULL). -#}
{% macro after(text, part) -%}
    substr({{ text }}, coalesce(length({{ part }}), 0) + 1)
{%- endmacro %}
