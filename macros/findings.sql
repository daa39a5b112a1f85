{#- Helpers of the findings and special-group tags (models/marts/finding.sql, resident_tag.sql). -#}

{#- The version's business date: the newest extract date among the applied batches. Never the
    wall clock, so re-running the same batches gives the same ages and the same findings. -#}
{% macro findings_as_of() -%}
    (select max(extract_date) from {{ source('meta', 'batch') }} where status = 'applied')
{%- endmacro %}

{#- A rule's parameter (text) from the reviewed seed finding_rule_parameter; a missing one
    fails the build instead of silently switching a rule off. -#}
{% macro finding_param(rule_id, name) -%}
    coalesce(
        (select max(value) from {{ ref('finding_rule_parameter') }}
         where rule_id = '{{ rule_id }}' and name = '{{ name }}'),
        error('finding_rule_parameter has no {{ name }} for rule {{ rule_id }}')
    )
{%- endmacro %}

{#- A '|' separated list parameter as a VARCHAR[] (items trimmed). -#}
{% macro finding_param_list(rule_id, name) -%}
    list_transform(string_split({{ finding_param(rule_id, name) }}, '|'), lambda x: trim(x))
{%- endmacro %}

{#- A claimed birth date as text at its precision: 1980-05-12, or 1980-05 for a month. -#}
{% macro findings_birth_text(value, precision) -%}
    case {{ precision }} when 'month' then strftime({{ value }}, '%Y-%m')
                         else strftime({{ value }}, '%Y-%m-%d') end
{%- endmacro %}
