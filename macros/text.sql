{#- Text helpers shared by staging and intermediate models. -#}

{#- Trimmed raw text: strip leading/trailing ASCII and ideographic (U+3000) whitespace;
    empty -> NULL. Inner characters are left as delivered (staging stays honest). -#}
{% macro clean_text(expr) -%}
    nullif(regexp_replace({{ expr }}, '^[\s\x{3000}]+|[\s\x{3000}]+$', '', 'g'), '')
{%- endmacro %}

{#- Fold full-width digits, Latin letters and a few punctuation marks to ASCII. -#}
{% macro fold_fullwidth(expr) -%}
    translate({{ expr }},
        '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ－＋（）＃',
        '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-+()#')
{%- endmacro %}

{#- Remove every whitespace character (ASCII and U+3000) anywhere in the text. -#}
{% macro strip_spaces(expr) -%}
    regexp_replace({{ expr }}, '[\s\x{3000}]+', '', 'g')
{%- endmacro %}

{#- Parse text with a list of strptime formats; NULL when none fits. -#}
{% macro parse_date(expr, formats) -%}
    cast(try_strptime({{ expr }}, [{% for f in formats %}'{{ f }}'{% if not loop.last %}, {% endif %}{% endfor %}]) as date)
{%- endmacro %}
