"""Dagster definitions, one module per part of the walk: ingest → dbt → publish (+ sensor).

These modules do not use ``from __future__ import annotations``: Dagster reads the context type
hints at definition time.
"""
