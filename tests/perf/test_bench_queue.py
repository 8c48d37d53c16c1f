"""`make bench`: server time of the queue page and of an approval, printed with their targets.

Bigger volumes and the full table arrive with the data generator; this is the first line.
"""

import statistics
import time

import pytest
from django.db import connection

from leads.models import Lead
from outreach.models import OutreachMessage
from tests.factories import CampaignFactory, SendingAccountFactory, UserFactory

pytestmark = [pytest.mark.bench, pytest.mark.django_db]
LEADS, PENDING = 20_000, 2_000


def _median_ms(run, times: int = 25) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def test_bench_queue_page_and_approve(client):
    rep = UserFactory(username="bench@example.com", role="Sales rep")
    account = SendingAccountFactory(owner=rep)
    campaign = CampaignFactory(owner=rep, accounts=[account])
    Lead.objects.bulk_create(
        Lead(
            first_name=f"L{i}",
            last_name="Bench",
            campaign=campaign,
            owner=rep,
            source="bench",
            status=Lead.Status.QUALIFIED,
            score=i % 100,
            linkedin_url=f"https://www.linkedin.com/in/bench-{i}",
        )
        for i in range(LEADS)
    )
    leads = list(Lead.objects.filter(source="bench").order_by("pk")[:PENDING])
    OutreachMessage.objects.bulk_create(
        OutreachMessage(
            lead=lead,
            campaign=campaign,
            account=account,
            kind="connection_note",
            body=f"Hi {lead.first_name}, glad to connect.",
            status="pending_approval",
        )
        for lead in leads
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics, as autovacuum keeps them in production
            cursor.execute("ANALYZE")
    client.force_login(rep)
    queue_ms = _median_ms(lambda: client.get("/approvals/"))
    pending = iter(OutreachMessage.objects.filter(status="pending_approval").values_list("pk", flat=True)[:25])
    approve_ms = _median_ms(lambda: client.post(f"/approvals/{next(pending)}/approve/", {"revision": 1}))
    print(f"\n{'benchmark':<40}{'median':>10}{'target':>10}  result")
    for name, value, target in (
        (f"queue page ({LEADS:,} leads, {PENDING:,} pending)", queue_ms, 100),
        ("approve one draft", approve_ms, 50),
    ):
        print(f"{name:<40}{value:>8.1f}ms{target:>8}ms  {'pass' if value <= target else 'MISS'}")
