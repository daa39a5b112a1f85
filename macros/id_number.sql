{#- GB 11643 citizen ID helpers for SQL that reads canonical numbers. Classifying and
    canonicalising delivered ID texts is done once, in Python (siheyuan.standardise.id_number,
    dbt model int_std__id_numbers), so ingest checks and the warehouse share one rule. -#}

{#- MOD 11-2 check character for the first 17 digits of a digits-only text expression. -#}
{% macro id_check_char(digits17) -%}
    {%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
    substr('10X98765432', ((
        {%- for w in weights %}
        {{ w }} * cast(substr({{ digits17 }}, {{ loop.index }}, 1) as integer){% if not loop.last %} +{% endif %}
        {%- endfor %}
    ) % 11) + 1, 1)
{%- endmacro %}

{#- Birth date embedded in an 18-char number (positions 7-14), NULL when not a real date. -#}
{% macro id_birth_date(id18) -%}
    cast(try_strptime(substr({{ id18 }}, 7, 8), '%Y%m%d') as date)
{%- endmacro %}
