"""`make bench`: server time of the approval queue and of a decision, printed with their targets.

100,000 leads and 10,000 drafts waiting, across four reps; a fifth of the waiting leads have a
conversation already (a sent message and a reply), as follow-ups do. Run it on PostgreSQL:
`DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesdept_bench make bench`.
"""

import re
import statistics
import time

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Lead
from outreach.models import InboundMessage, OutreachMessage
from tests.factories import CampaignFactory, SendingAccountFactory, UserFactory

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]  # VACUUM runs outside a transaction
LEADS, PENDING, REPS = 100_000, 10_000, 4
BREAKDOWN = [
    {"factor": "Title", "points": 30, "max": 30, "reason": "Chief Financial Officer matches CFO"},
    {"factor": "Seniority", "points": 20, "max": 20, "reason": "C-suite"},
    {"factor": "Industry", "points": 10, "max": 20, "reason": "Banking is near Fintech"},
]


def _median_ms(run, times: int = 30) -> float:
    run()  # warm: the first request compiles templates
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _build() -> tuple[list, object]:
    reps = [UserFactory(username=f"bench{i}@example.com", role="Sales rep") for i in range(REPS)]
    manager = UserFactory(username="bench-manager@example.com", role="Manager")
    accounts = [SendingAccountFactory(owner=rep) for rep in reps]
    campaign = CampaignFactory(owner=manager, accounts=accounts)
    Lead.objects.bulk_create(
        (
            Lead(
                first_name=f"Lead{i}",
                last_name="Bench",
                position="Chief Financial Officer",
                campaign=campaign,
                owner=reps[i % REPS],
                source="bench",
                status=Lead.Status.QUALIFIED,
                score=i % 100,
                label=("Speaker", "Sponsor", "Other")[i % 3],
                insight="CFO at a fintech, posts about forecasting",
                score_breakdown=BREAKDOWN,
                linkedin_url=f"https://www.linkedin.com/in/bench-{i}",
            )
            for i in range(LEADS)
        ),
        batch_size=5000,
    )
    leads = list(Lead.objects.filter(source="bench").order_by("pk")[:PENDING])
    account_of = {rep.pk: account for rep, account in zip(reps, accounts, strict=True)}
    talking = leads[::5]
    now = timezone.now()
    OutreachMessage.objects.bulk_create(
        (
            OutreachMessage(
                lead=lead,
                campaign=campaign,
                account=account_of[lead.owner_id],
                kind="connection_note",
                body=f"Hi {lead.first_name}, glad to connect about the Summit.",
                status="sent",
                sent_at=now,
            )
            for lead in talking
        ),
        batch_size=5000,
    )
    InboundMessage.objects.bulk_create(
        (
            InboundMessage(
                lead=lead,
                account=account_of[lead.owner_id],
                provider_id=f"bench-reply-{lead.pk}",
                text="Thanks, tell me more about the agenda.",
                received_at=now,
                intent="requesting_info",
            )
            for lead in talking
        ),
        batch_size=5000,
    )
    in_conversation = {lead.pk for lead in talking}
    OutreachMessage.objects.bulk_create(
        (
            OutreachMessage(
                lead=lead,
                campaign=campaign,
                account=account_of[lead.owner_id],
                step=2 if lead.pk in in_conversation else 1,
                kind="message" if lead.pk in in_conversation else "connection_note",
                body=f"Hi {lead.first_name}, glad to connect about the Summit in London this March.",
                status="pending_approval",
            )
            for lead in leads
        ),
        batch_size=5000,
    )
    # As autovacuum leaves the tables in production: fresh statistics, and the pages marked all-visible, so
    # that the counts read indexes alone (approvals.selectors.COUNTED_WAITING).
    with connection.cursor() as cursor:
        for model in (Lead, OutreachMessage, InboundMessage):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return reps, manager


def test_bench_queue_page_and_approve(client, bench_result):
    reps, manager = _build()
    rep = reps[0]
    rows = []

    client.force_login(manager)
    rows.append((f"queue, manager ({PENDING:,} waiting)", _median_ms(lambda: client.get("/approvals/")), 30))
    rows.append(
        ("queue, manager, filtered", _median_ms(lambda: client.get("/approvals/?label=Sponsor&score_min=40")), 30)
    )

    client.force_login(rep)
    rows.append((f"queue, rep ({PENDING // REPS:,} waiting)", _median_ms(lambda: client.get("/approvals/")), 30))
    deep = client.get("/approvals/")
    for _ in range(40):  # follow the Next links 40 pages down
        after = re.search(r'after=([\d.-]+)"', deep.text).group(1)
        deep = client.get(f"/approvals/?after={after}", HTTP_HX_REQUEST="true")
    rows.append(("queue, rep, page 41", _median_ms(lambda: client.get(f"/approvals/?after={after}")), 30))

    waiting = iter(
        OutreachMessage.objects.filter(status="pending_approval", lead__owner=rep).values_list("pk", flat=True)[:40]
    )
    rows.append(
        (
            "approve one draft (htmx)",
            _median_ms(
                lambda: client.post(f"/approvals/{next(waiting)}/approve/", {"revision": 1}, HTTP_HX_REQUEST="true")
            ),
            50,
        )
    )
    undo = OutreachMessage.objects.filter(status="approved", decided_by=rep).values_list("pk", flat=True)
    undoable = iter(list(undo))
    rows.append(
        (
            "undo an approval (htmx)",
            _median_ms(lambda: client.post(f"/approvals/{next(undoable)}/undo/", HTTP_HX_REQUEST="true"), times=20),
            50,
        )
    )

    print(f"\n{connection.vendor}: {LEADS:,} leads, {PENDING:,} drafts waiting")
    print(f"{'benchmark':<42}{'median':>10}{'target':>10}  result")
    for name, value, target in rows:
        print(f"{name:<42}{value:>8.1f}ms{target:>8}ms  {'pass' if value <= target else 'MISS'}")
        bench_result(name, value, "ms", target, note=f"{LEADS:,} leads")
