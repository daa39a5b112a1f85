"""Standardisation of department values to one national form (issue 5).

Pure functions, one module per kind of value (``id_number``, ``dates``, ``phones``, ``names``),
used at ingest for data-quality checks and by the dbt Python models that standardise the
distinct raw values of the warehouse. Code tables live in ``seeds/`` (CSV) so SQL and Python
read the same table; ``codes`` loads them.
"""
