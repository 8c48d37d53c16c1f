"""The queue's counts and the walk that finds its page read indexes alone, not the drafts' or the leads' rows.

Every page counts the drafts waiting for the navigation's badge, and the queue counts them again
for its header. Counted from the tables, a rep's count read every waiting draft and every lead
below the last one with a draft: 9 ms of the queue page's 41 on the benchmark's 100,000 leads and
10,000 drafts; from the indexes, 1.2 ms (a manager's 3.3 -> 0.8 ms).

The planner chooses among the plans it has, by its statistics; this asks whether an index-only
plan exists, by taking away the scans of whole tables: without the indexes, the planner then reads
the rows through an index (it cannot count from one alone).
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.selectors import pending_count_for, queue_page_for
from leads.models import Lead
from outreach.models import OutreachMessage
from tests.factories import LeadFactory, MessageFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]  # VACUUM runs outside a transaction
ONLY_INDEXES = ("enable_seqscan", "enable_bitmapscan")  # (index-only scans are index scans to the planner)


def scans(plan: dict) -> list[tuple[str, str, int]]:
    """Every scan of the plan: its kind, its table and the rows it fetched from the table's heap.

    Leaving out the subquery of the snoozed leads (approvals.selectors.COUNTED_WAITING): the few
    of them are read once, by their status, and hashed.
    """
    if plan.get("Parent Relationship") == "SubPlan":
        return []
    found = []
    if "Relation Name" in plan:
        found.append((plan["Node Type"], plan["Relation Name"], plan.get("Heap Fetches", 0)))
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


def plan_of_count(user) -> tuple[int, list[tuple[str, str, int]]]:
    with CaptureQueriesContext(connection) as captured:
        count = pending_count_for(user)
    (query,) = [query for query in captured.captured_queries if query["sql"].startswith("SELECT COUNT(*)")]
    return count, plan_of(query["sql"])


def plan_of(sql: str) -> list[tuple[str, str, int]]:
    with connection.cursor() as cursor:
        for setting in ONLY_INDEXES:
            cursor.execute(f"SET {setting} = off")
        try:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            (plan,) = cursor.fetchone()[0]
        finally:
            for setting in ONLY_INDEXES:
                cursor.execute(f"RESET {setting}")
    return scans(plan["Plan"])


def from_indexes_alone(found: list[tuple[str, str, int]]) -> bool:
    tables = (OutreachMessage._meta.db_table, Lead._meta.db_table)
    rows = [(kind, fetched) for kind, table, fetched in found if table in tables]
    return bool(rows) and all(kind == "Index Only Scan" and fetched == 0 for kind, fetched in rows)


@pytest.fixture
def queues(campaign, alice, dan):
    """Alice's 40 drafts and Dan's 25 waiting, among leads without one and drafts that do not wait."""
    for owner, drafts in ((alice, 40), (dan, 25)):
        for lead in LeadFactory.create_batch(drafts, campaign=campaign, owner=owner):
            MessageFactory(lead=lead)
    LeadFactory.create_batch(60, campaign=campaign, owner=alice)  # leads without a draft
    MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice), blocked=True)  # waits for a rewrite
    MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.SNOOZED))
    MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice), status=OutreachMessage.Status.SENT)
    with connection.cursor() as cursor:  # as autovacuum leaves a table: its pages marked all-visible
        for model in (Lead, OutreachMessage):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def test_the_drafts_waiting_are_counted_from_indexes_alone(queues, alice, bob):
    reps_count, reps_scans = plan_of_count(alice)
    managers_count, managers_scans = plan_of_count(bob)

    assert (reps_count, managers_count) == (40, 65)
    assert from_indexes_alone(reps_scans), json.dumps(reps_scans)
    assert from_indexes_alone(managers_scans), json.dumps(managers_scans)
    assert {table for _, table, _ in reps_scans} >= {OutreachMessage._meta.db_table, Lead._meta.db_table}


@pytest.mark.parametrize(("who", "waiting"), [("alice", 40), ("bob", 65)])
def test_the_walk_to_a_page_of_the_queue_reads_indexes_alone(queues, request, who, waiting):
    """The walk in rank order passes every lead ranked above the page's last draft, with or without one."""
    user = request.getfixturevalue(who)
    with CaptureQueriesContext(connection) as captured:
        page, more = queue_page_for(user, size=25)

    ids, cards = [query["sql"] for query in captured.captured_queries if "outreach_outreachmessage" in query["sql"]][:2]
    assert 'SELECT "outreach_outreachmessage"."id" AS "pk" FROM' in ids and '"body"' not in ids
    assert from_indexes_alone(plan_of(ids)), json.dumps(plan_of(ids))
    assert len(page) == 25 and more == (waiting > 25)
    assert {message.lead.owner.username for message in page} <= (
        {"alice@example.com"} if who == "alice" else {"alice@example.com", "dan@example.com"}
    )
    ranks = [(-message.effective_score, message.pk) for message in page]
    assert ranks == sorted(ranks)  # the queue's order: the best first, the oldest first among equals
