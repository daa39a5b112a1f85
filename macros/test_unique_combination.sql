{#- Generic test: the combination of columns is unique and none of them is NULL.

    built_by (optional): a column holding the dbt invocation that wrote each row, on a model
    that is rebuilt resident by resident (delete+insert). In a `dbt build`, only the
    combinations of rows this build wrote are checked, against the whole table: a repeat needs
    at least one row written since the table last passed (rows the build did not write passed
    when they were written, and deleting rows cannot make a repeat), so this is the whole test
    at the cost of the change. When the build wrote most of the table (a first or full build),
    every row is grouped at once, which is cheaper than matching them. A `dbt test` on its own
    (or any other command) checks every row. -#}
{% test unique_combination(model, columns, built_by=none) %}
{%- set cols = columns | join(', ') %}
{%- set m_cols %}{% for c in columns %}m.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}{% endset %}
{%- set failing %}
having count(*) > 1
   {% for c in columns %}or m.{{ c }} is null {% endfor %}
{%- endset %}
{%- if built_by is not none and flags.WHICH == 'build' %}
with written as (
    select {{ cols }} from {{ model }} where {{ built_by }} = '{{ invocation_id }}'
),

mostly as (
    select (select count(*) from written) * 2 > (select count(*) from {{ model }}) as whole
)

select {{ m_cols }}, count(*) as n
from {{ model }} as m
where (select whole from mostly)
group by {{ m_cols }}
{{ failing }}
union all
select {{ m_cols }}, count(*) as n
from {{ model }} as m
semi join (select distinct * from written where not (select whole from mostly)) as b
    on {% for c in columns %}b.{{ c }} is not distinct from m.{{ c }}{% if not loop.last %} and {% endif %}{% endfor %}
where not (select whole from mostly)
group by {{ m_cols }}
{{ failing }}
{%- else %}
select {{ m_cols }}, count(*) as n
from {{ model }} as m
group by {{ m_cols }}
{{ failing }}
{%- endif %}
{% endtest %}
