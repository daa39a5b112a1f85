{#- Use +schema names (staging, intermediate, marts) as-is instead of dbt's
    default "<target_schema>_<custom>" so published tables live in marts.<table>. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
