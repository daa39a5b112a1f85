-- Every distinct address text the person records carry, parsed down to the building.
-- Simple and honest: standard order 省 市 区/县 街道/镇 社区 路/街/巷+号 小区 N幢/栋/号楼 单元 室,
-- or the N-N-N shorthand (building-unit-room). building_key is NULL (with parse_status) unless
-- a district, a building number and a compound (or road + number) are found: an address is
-- never forced onto a building it may not belong to.

with texts as (
    select distinct address
    from {{ ref('int_person_records') }}
    where address is not null
),

normalised as (
    select
        address,
        {{ fold_fullwidth(strip_spaces('address')) }} as norm
    from texts
),

p_province as (
    select *, {{ leading_part('norm', "[^省市]{2,8}?(?:省|自治区)") }} as province
    from normalised
),

p_city as (
    select *, {{ leading_part(after('norm', 'province'), "[^省市区县路街号\\d]{2,7}?市") }} as city
    from p_province
),

p_district as (
    -- 社 is excluded so a community (…社区) at the start of an abbreviated address is not
    -- taken for a district
    select *,
        {{ leading_part(after('norm', "coalesce(province, '') || coalesce(city, '')"),
                "[^省市区县路街道镇号小社\\d]{1,6}(?:区|县)") }} as district
    from p_city
),

p_street as (
    select *,
        {{ leading_part(after('norm', "coalesce(province, '') || coalesce(city, '') || coalesce(district, '')"),
                "[^省市区县路街道镇乡号\\d]{1,8}(?:街道|镇|乡)") }} as street
    from p_district
),

p_community as (
    select *,
        {{ leading_part(after('norm', "coalesce(province, '') || coalesce(city, '') || coalesce(district, '') || coalesce(street, '')"),
                "[^路街巷号\\d]{1,10}?(?:社区|村)") }} as community
    from p_street
),

p_road as (
    select
        *,
        {{ after('norm', "coalesce(province, '') || coalesce(city, '') || coalesce(district, '') || coalesce(street, '') || coalesce(community, '')") }}
            as rest_road
    from p_community
),

p_road2 as (
    select
        *,
        regexp_extract(rest_road, '^([^号\d]{1,15}?(?:大道|路|街|巷|弄))(\d+)号', ['road', 'road_number']) as rn
    from p_road
),

p_building as (
    select
        * exclude (rn),
        nullif(rn.road, '') as road,
        nullif(rn.road_number, '') as road_number,
        case when rn.road = '' then rest_road
             else substr(rest_road, length(rn.road) + length(rn.road_number) + 2) end as rest
    from p_road2
),

p_parts as (
    select
        *,
        regexp_extract(rest, '^(.*?)(\d+)-(\d+)-(\d+)', ['compound', 'building', 'unit', 'room']) as sh,
        regexp_extract(rest, '^(.*?)(\d+|[一二三四五六七八九十]{1,3})(?:幢|栋|号楼|座)', ['compound', 'building']) as st
    from p_building
),

parsed as (
    select
        address,
        norm,
        province,
        city,
        district,
        street,
        community,
        -- road is only trusted together with its number
        road,
        road_number,
        case when sh.building <> '' then nullif(sh.compound, '') else nullif(st.compound, '') end as compound,
        case when sh.building <> '' then {{ cn_small_number('sh.building') }}
             when st.building <> '' then {{ cn_small_number('st.building') }} end as building_no,
        case when sh.building <> '' then nullif(sh.unit, '')
             else nullif(regexp_extract(rest, '(\d+)单元', 1), '') end as unit_no,
        case when sh.building <> '' then nullif(sh.room, '')
             else nullif(regexp_extract(rest, '(\d+)室', 1), '') end as room_no,
        case when sh.building <> '' then 'shorthand'
             when st.building <> '' then 'standard' end as building_form
    from p_parts
),

defaulted as (
    -- a missing district defaults to the hub's, unless the address names another province/city
    select
        * exclude (province, city, district),
        coalesce(district, case
            when coalesce(province, '{{ var("home_province") }}') = '{{ var("home_province") }}'
             and coalesce(city, '{{ var("home_city") }}') = '{{ var("home_city") }}'
            then '{{ var("home_district") }}' end) as district,
        district is null as district_defaulted,
        province,
        city
    from parsed
),

completed as (
    select
        * exclude (province, city),
        coalesce(province, case when district = '{{ var("home_district") }}'
            then '{{ var("home_province") }}' end) as province,
        coalesce(city, case when district = '{{ var("home_district") }}'
            then '{{ var("home_city") }}' end) as city
    from defaulted
),

-- a compound sits at one road + number: when the full form is known elsewhere and is unique,
-- an abbreviated address (compound only, or road + number only) borrows the missing part
compound_roads as (
    select district, compound, min(road) as road, min(road_number) as road_number,
        count(distinct road || '|' || road_number) as n
    from completed
    where road is not null and compound is not null and building_no is not null
    group by all
),

road_compounds as (
    select district, road, road_number, min(compound) as compound, count(distinct compound) as n
    from completed
    where road is not null and compound is not null and building_no is not null
    group by all
),

resolved as (
    select
        c.* exclude (road, road_number, compound),
        coalesce(c.road, case when cr.n = 1 then cr.road end) as road,
        coalesce(c.road_number, case when cr.n = 1 then cr.road_number end) as road_number,
        coalesce(c.compound, case when rc.n = 1 then rc.compound end) as compound,
        case
            when c.road is null and c.compound is not null and cr.n = 1 then 'road_inferred'
            when c.road is null and c.compound is not null and cr.n > 1 then 'road_ambiguous'
            when c.compound is null and c.road is not null and rc.n = 1 then 'compound_inferred'
            when c.compound is null and c.road is not null and rc.n > 1 then 'compound_ambiguous'
        end as inference
    from completed as c
    left join compound_roads as cr
        on c.road is null and cr.district = c.district and cr.compound = c.compound
    left join road_compounds as rc
        on c.compound is null and rc.district = c.district and rc.road = c.road
           and rc.road_number = c.road_number
)

select
    address,
    norm as address_normalised,
    province,
    city,
    district,
    district_defaulted,
    street,
    community,
    road,
    road_number,
    compound,
    building_no,
    unit_no,
    room_no,
    building_form,
    inference,
    case
        when building_no is null then 'no_building'
        when district is null then 'no_district'
        when inference = 'compound_ambiguous' then inference
        when compound is null then 'no_compound'
        when inference is not null then 'ok_' || inference
        else 'ok'
    end as parse_status,
    -- A building is identified by its compound and number within the district. The road and
    -- number are attributes: keying on them would change the key of every abbreviated address
    -- the day a second spelling of the road appears, and building ids must be stable.
    case
        when building_no is not null and district is not null and compound is not null
        then concat_ws('|', district, compound, building_no)
    end as building_key
from resolved
