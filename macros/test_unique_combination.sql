{#- Generic test: the combination of columns is unique and none of them is NULL. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
   {% for c in columns %}or {{ c }} is null {% endfor %}
{% endtest %}
