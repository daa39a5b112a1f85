"""Dagster definitions, one module per part of the walk: ingest → dbt → publish (+ sensor)."""
