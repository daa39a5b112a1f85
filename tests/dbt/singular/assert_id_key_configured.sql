-- meta.settings must hold exactly one non-empty id_key (stable ids depend on it).
select count(*) as n
from {{ source('meta', 'settings') }}
where name = 'id_key' and coalesce(value, '') <> ''
having count(*) <> 1
