-- No resident may carry two different valid (canonical) citizen ID numbers.
select l.resident_id, count(distinct r.id_number) as n_ids
from {{ ref('int_person_records') }} as r
inner join {{ ref('int_resident_links') }} as l
    on l.source_dataset = r.source_dataset and l.source_key = r.source_key
where r.id_number is not null
group by l.resident_id
having count(distinct r.id_number) > 1
