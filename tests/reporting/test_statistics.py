"""Plans that do not depend on luck: bulk work analyzes the tables it wrote before it reads them.

The reporting benchmark once hung for more than 16 minutes in `rebuild_metrics`: the tables had
been analyzed while empty, so PostgreSQL planned million-row joins as if they held nothing.
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Activity
from leads.services import activity_record
from reporting.models import LeadMilestone
from tests.factories import LeadFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def reltuples(model) -> float:
    """What the planner believes the table holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        return cursor.fetchone()[0]


def first_index(statements: list[str], start: str) -> int:
    return next(i for i, sql in enumerate(statements) if sql.startswith(start))


def test_rebuild_metrics_plans_from_the_rows_it_reads_not_from_stale_statistics(campaign):
    with connection.cursor() as cursor:  # as after a restore: statistics taken while the tables were empty
        cursor.execute(f"ANALYZE {Activity._meta.db_table}; ANALYZE {LeadMilestone._meta.db_table}")
    for _ in range(30):
        lead = LeadFactory(campaign=campaign)
        activity_record(verb="lead.found", lead=lead)
        activity_record(verb="lead.qualified", lead=lead)
    assert reltuples(Activity) <= 0  # the planner takes the log for empty

    with CaptureQueriesContext(connection) as queries:
        call_command("rebuild_metrics", stdout=None)

    statements = [query["sql"] for query in queries.captured_queries]
    activity, milestone = (connection.ops.quote_name(m._meta.db_table) for m in (Activity, LeadMilestone))
    assert first_index(statements, f"ANALYZE {activity}") < first_index(statements, f"INSERT INTO {milestone}")
    assert first_index(statements, f"ANALYZE {milestone}") < first_index(
        statements, 'INSERT INTO "reporting_dailycount"'
    )
    assert reltuples(Activity) == Activity.objects.count() == 60
    assert reltuples(LeadMilestone) == LeadMilestone.objects.count() == 60


def test_a_large_purge_analyzes_the_table_it_emptied(campaign, monkeypatch):
    import datetime as dt

    from django.utils import timezone

    from leads import privacy
    from leads.models import Lead

    monkeypatch.setattr(privacy, "ANALYZE_AFTER_ROWS", 10)  # 10 rows stand for thousands
    for _ in range(12):
        LeadFactory(campaign=campaign, raw_profile={"headline": "CFO"})
    Lead.objects.update(updated_at=timezone.now() - dt.timedelta(days=1000))

    with CaptureQueriesContext(connection) as queries:
        purged = privacy.privacy_purge(now=timezone.now())

    assert purged["raw_profiles"] == 12
    analyzed = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("ANALYZE")]
    assert analyzed == [f"ANALYZE {connection.ops.quote_name(Lead._meta.db_table)}"]
