"""Database helpers that more than one bulk writer needs."""

from collections.abc import Callable
from operator import attrgetter

from django.core.exceptions import ObjectDoesNotExist
from django.db import DEFAULT_DB_ALIAS, connection, connections, models

from salesdept import clock

# Below this many rows written, autovacuum's own ANALYZE is soon enough.
ANALYZE_AFTER_ROWS = 1000


def analyze(*tables: type[models.Model]) -> None:
    """Fresh planner statistics for tables just written in bulk, before the same run reads them.

    The planner plans from the last ANALYZE: a table analyzed while it was empty and then loaded
    with millions of rows (a restore, an import, generated data) is planned as empty, and a join
    over it can take hours instead of seconds. Autovacuum catches up only after a delay, so work
    that writes and then reads in one run analyzes first. Inside a transaction it sees the
    transaction's own rows.
    """
    with connection.cursor() as cursor:
        for model in dict.fromkeys(tables):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def one_to_one(instance: models.Model, name: str) -> models.Model | None:
    """The instance's reverse one-to-one `name`, or None when it has none (or is unsaved).

    Read with select_related(name) first, or this is a query.
    """
    try:
        return getattr(instance, name)
    except ObjectDoesNotExist:
        return None


# Fields whose Python value is what the database stores: Django's preparation would not change it.
PLAIN_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.FloatField)


def _copy_value(field: models.Field, db) -> Callable[[models.Model], object]:
    """The field's value for COPY, as an INSERT would store it, as a function of the instance."""
    if isinstance(field, PLAIN_FIELDS) and not field.is_relation and type(field).pre_save is models.Field.pre_save:
        return attrgetter(field.attname)
    if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
        now = clock.now()
        return lambda obj: now
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), db)


def bulk_insert(objs: list[models.Model]) -> list[models.Model]:
    """bulk_create, but on PostgreSQL through COPY with ids drawn from the table's sequence.

    The profile of a 100,000-row import showed half of bulk_create's time spent quoting every value
    into the SQL text on the client; COPY sends the rows as data. Same rows, same transaction.
    """
    if connection.vendor != "postgresql" or len(objs) < 2:
        return type(objs[0]).objects.bulk_create(objs) if objs else objs
    meta = objs[0]._meta
    fields = meta.concrete_fields
    db = connections[
        DEFAULT_DB_ALIAS
    ]  # the object itself: the proxy's attribute lookups add up over millions of values
    quote = db.ops.quote_name
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        columns = ", ".join(quote(field.column) for field in fields)
        with (
            db.wrap_database_errors,
            cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy,
        ):
            values = [_copy_value(field, db) for field in fields]
            for obj in objs:
                copy.write_row([value(obj) for value in values])
    for obj in objs:
        obj._state.adding, obj._state.db = False, db.alias
    return objs


def bulk_set(objs: list[models.Model], fields: list[str]) -> None:
    """bulk_update for rows whose values differ, without its cost: one UPDATE, run once per row.

    bulk_update writes a CASE per field with a branch per row, and Django spends about 2 ms a row
    building it (recording a batch of 100 drafts took 244 ms with it, 34 ms this way). This
    prepares each row's values as the ORM would and runs one statement with executemany
    (pipelined by psycopg). Nothing but `fields` is written.
    """
    if not objs:
        return
    meta, quote = objs[0]._meta, connection.ops.quote_name
    written = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in written)
    statement = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608 (our columns)
    rows = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for field in written] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(statement, [values + [obj.pk] for values, obj in zip(rows, objs, strict=True)])
