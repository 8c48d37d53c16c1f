"""Realistic volumes for benchmarks and load tests, written by the database itself.

Rows are made with one INSERT … SELECT over a number series per table (generate_series on
PostgreSQL, a recursive CTE on SQLite), so a million leads take seconds, not an hour of ORM
saves. Every NOT NULL column gets its model default (or a blank of its type) unless the caller
gives an SQL expression of the row number `n` for it.
"""

import json
from collections.abc import Mapping

from django.db import connection, models


def _series(count: int) -> str:
    if connection.vendor == "postgresql":
        return f"generate_series(1, {int(count)}) AS s(n)"
    recursive = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d) SELECT n FROM s"
    return f"({recursive % int(count)}) AS s"


def _literal(field: models.Field) -> str:
    """The SQL literal of a field's default, or a blank of its type."""
    if field.null:
        return "NULL"
    value = field.get_default() if field.has_default() else None
    if isinstance(field, models.JSONField):
        return "'" + json.dumps(value if value is not None else {}).replace("'", "''") + "'"
    if isinstance(field, models.BooleanField):
        return "TRUE" if value else "FALSE"
    if isinstance(field, models.DateTimeField):
        return "CURRENT_TIMESTAMP"
    if isinstance(field, models.DateField):
        return "CURRENT_DATE"
    if isinstance(field, (models.IntegerField, models.FloatField, models.DecimalField)):
        return str(value or 0)
    return "'" + str(value or "").replace("'", "''") + "'"


def insert_series(model: type[models.Model], count: int, columns: Mapping[str, str]) -> None:
    """Insert `count` rows of `model`; `columns` maps a column to an SQL expression of `n` (1..count)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names, values = [], []
    for field in fields:
        names.append(connection.ops.quote_name(field.column))
        values.append(columns.get(field.column, _literal(field)))
    unknown = set(columns) - {field.column for field in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(values)} FROM {_series(count)}")  # noqa: S608 (columns and expressions are ours, never user input)
