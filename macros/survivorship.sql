{#- Masks for the survivorship marts, the same as siheyuan.standardise.id_number.mask_id_number
    and siheyuan.quality.privacy.mask_phone (tests/dbt/test_survivorship.py pins that they
    agree), so a value shown in marts.resident_attribute_conflict reads like the CLI's. -#}

{#- ``330106********1234``: region and last four kept (a canonical ID is 18 characters). -#}
{% macro mask_id_number_sql(expr) -%}
    case
        when length({{ expr }}) >= 15
        then left({{ expr }}, 6) || repeat('*', length({{ expr }}) - 10) || right({{ expr }}, 4)
        else left({{ expr }}, length({{ expr }}) // 3)
             || repeat('*', length({{ expr }}) - length({{ expr }}) // 3)
    end
{%- endmacro %}

{#- ``138****5678``: of the last 11 digits, the first three and the last four. -#}
{% macro mask_phone_sql(expr) -%}
    case
        when length(right(regexp_replace({{ expr }}, '[^0-9]', '', 'g'), 11)) = 11
        then left(right(regexp_replace({{ expr }}, '[^0-9]', '', 'g'), 11), 3) || '****'
             || right(regexp_replace({{ expr }}, '[^0-9]', '', 'g'), 4)
        else repeat('*', length({{ expr }}))
    end
{%- endmacro %}

{#- The attributes whose values are sensitive: never copied into lineage, masked in conflicts. -#}
{% macro survivorship_sensitive_attributes() -%}
    ('id_number', 'phone_e164')
{%- endmacro %}

{#- The config of a model whose rows are, resident by resident, a function of that resident's
    inputs alone (int_resident_attribute_candidates, _lineage, int_resident_winners): a run
    deletes and inserts the residents it rebuilt (delete+insert on resident_id) and the
    post-hook deletes the residents `parent` no longer has (against its distinct residents:
    the candidates hold ~28 rows per resident, and the anti-join built on all of them cost twice
    as much at a million persons). The hook is a template rendered
    when it runs, like a hook written in the model. Use: config(**per_resident_incremental('x')). -#}
{% macro per_resident_incremental(parent) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'resident_id',
        'on_schema_change': 'sync_all_columns',
        'post_hook': "delete from {{ this }} where resident_id not in "
                     ~ "(select distinct resident_id from {{ ref('" ~ parent ~ "') }})",
    }) }}
{%- endmacro %}
