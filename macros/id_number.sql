{#- GB 11643 citizen ID number helpers (canonical form, status, 15 -> 18 conversion).
    Never guesses: a number that is not exactly valid (or a convertible 15-digit number
    with a real birth date) yields NULL with its status. -#}

{#- Canonical candidate text: drop all spaces, fold full-width digits/Ｘ/ｘ, upper-case x. -#}
{% macro id_clean(expr) -%}
    upper({{ fold_fullwidth(strip_spaces('coalesce(' ~ expr ~ ", '')")) }})
{%- endmacro %}

{#- MOD 11-2 check character for the first 17 digits of a digits-only text expression. -#}
{% macro id_check_char(digits17) -%}
    {%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
    substr('10X98765432', ((
        {%- for w in weights %}
        {{ w }} * cast(substr({{ digits17 }}, {{ loop.index }}, 1) as integer){% if not loop.last %} +{% endif %}
        {%- endfor %}
    ) % 11) + 1, 1)
{%- endmacro %}

{#- Birth date embedded in an 18-char text (positions 7-14), NULL when not a real date. -#}
{% macro id_birth_date(id18) -%}
    cast(try_strptime(substr({{ id18 }}, 7, 8), '%Y%m%d') as date)
{%- endmacro %}

{#- A plausible birth date: a real date between 1880-01-01 and today. -#}
{% macro _id_date_ok(date_expr) -%}
    ({{ date_expr }} is not null and {{ date_expr }} between date '1880-01-01' and current_date)
{%- endmacro %}

{#- The 17 leading digits of the 18-digit form of a 15-digit number. -#}
{% macro _id15_body(c) -%}
    (substr({{ c }}, 1, 6) || '19' || substr({{ c }}, 7, 9))
{%- endmacro %}

{#- Status of a cleaned id text (output of id_clean). -#}
{% macro id_number_status(c) -%}
    case
        when {{ c }} = '' then 'empty'
        when not regexp_full_match({{ c }}, '[0-9X]+') then 'bad_chars'
        when length({{ c }}) = 18 and not regexp_full_match({{ c }}, '\d{17}[\dX]') then 'bad_chars'
        when length({{ c }}) = 18 and not {{ _id_date_ok(id_birth_date(c)) }} then 'bad_birth_date'
        when length({{ c }}) = 18 and {{ id_check_char(c) }} <> substr({{ c }}, 18, 1) then 'bad_check_digit'
        when length({{ c }}) = 18 then 'valid'
        when length({{ c }}) = 15 and not regexp_full_match({{ c }}, '\d{15}') then 'bad_chars'
        when length({{ c }}) = 15 and not {{ _id_date_ok(id_birth_date(_id15_body(c))) }} then 'bad_birth_date'
        when length({{ c }}) = 15 then 'converted_15'
        else 'bad_length'
    end
{%- endmacro %}

{#- Canonical 18-char number for a cleaned id text and its status, else NULL. -#}
{% macro id_number_canonical(c, status) -%}
    case
        when {{ status }} = 'valid' then {{ c }}
        when {{ status }} = 'converted_15' then {{ _id15_body(c) }} || {{ id_check_char(_id15_body(c)) }}
    end
{%- endmacro %}
