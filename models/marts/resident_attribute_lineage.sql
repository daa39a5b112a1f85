-- Where each published resident value came from: one row per resident x published attribute
-- that has a value — the surviving candidate of int_resident_attribute_candidates (the same
-- row marts.resident publishes), its source record (dataset, key, batch), the business date
-- the rule read, and the rule's name (seed survivorship_rules). candidate_count is how many of
-- the resident's records offered a value for the attribute, distinct_value_count how many
-- different values they offered as the rule compares them (`conflicts`: for status only what
-- departments state); > 1: see marts.resident_attribute_conflict (unless conflicts = none).
-- Sensitive values (ID number, phone) are not copied here: value is NULL for them; the value
-- is in marts.resident. A building attribute's value is the published building id.
-- The rows are int_resident_attribute_lineage's, which is incremental (only the residents
-- whose candidates changed are rebuilt); this view leaves out its bookkeeping (the hash, the
-- invocation that wrote the row).
{{ config(materialized='view') }}
select * exclude (lineage_hash, built_by)
from {{ ref('int_resident_attribute_lineage') }}
