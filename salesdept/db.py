"""Database helpers that more than one bulk writer needs."""

from django.db import connection, models

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
