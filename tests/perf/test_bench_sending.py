"""`make bench`: what one send costs on the database side, with 20,000 approved messages waiting.

Five accounts, 4,000 approved messages each, 100,000 sent messages in their history (the contact
budget and the counters read them). The sandbox channel writes one line per send, so the figure
is the dispatcher's own cost: candidates, lock, re-checks, cap, gap, claim and result.
Run it on PostgreSQL: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesdept_bench make bench`.
"""

import datetime as dt
import statistics
import time

import pytest

from leads.models import Lead
from outreach.models import OutreachMessage
from outreach.sending import outreach_send_next
from tests.factories import CampaignFactory, SendingAccountFactory, UserFactory

pytestmark = [pytest.mark.bench, pytest.mark.django_db]
ACCOUNTS, WAITING, HISTORY, SENDS = 5, 20_000, 100_000, 300
TARGET_MS = 50
NOW = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC)


def _build() -> list:
    rep = UserFactory(username="bench-sender@example.com", role="Sales rep")
    accounts = [
        SendingAccountFactory(owner=rep, daily_messages=10_000, activated_on=NOW.date() - dt.timedelta(days=365))
        for _ in range(ACCOUNTS)
    ]
    campaign = CampaignFactory(owner=rep, accounts=accounts)
    total = WAITING + HISTORY
    Lead.objects.bulk_create(
        (
            Lead(
                first_name=f"Send{i}",
                campaign=campaign,
                owner=rep,
                source="bench",
                status=Lead.Status.QUALIFIED if i < WAITING else Lead.Status.CONTACTED,
                score=i % 100,
                provider_id=f"bench-{i}",
                linkedin_url=f"https://www.linkedin.com/in/send-bench-{i}",
            )
            for i in range(total)
        ),
        batch_size=5_000,
    )
    leads = list(Lead.objects.filter(source="bench").order_by("pk").values_list("pk", flat=True))
    decided = NOW - dt.timedelta(hours=1)
    OutreachMessage.objects.bulk_create(
        (
            OutreachMessage(
                lead_id=lead_id,
                campaign=campaign,
                account=accounts[i % ACCOUNTS],
                kind="message",
                body="Hi there, a short note about the Summit.",
                status="approved" if i < WAITING else "sent",
                decided_at=decided,
                not_before=decided,
                sent_at=None if i < WAITING else NOW - dt.timedelta(days=10 + i % 50),
            )
            for i, lead_id in enumerate(leads)
        ),
        batch_size=5_000,
    )
    return accounts


def test_bench_one_send(capsys, bench_result):
    accounts = _build()
    samples = []
    for i in range(SENDS):
        account = accounts[i % ACCOUNTS]
        started = time.perf_counter()
        assert outreach_send_next(account_id=account.pk, now=NOW + dt.timedelta(seconds=i)) == "sent"
        samples.append((time.perf_counter() - started) * 1000)
    median, p95 = statistics.median(samples), statistics.quantiles(samples, n=20)[-1]
    with capsys.disabled():
        print(f"\nsend dispatch per message ({WAITING:,} waiting): median {median:.1f} ms, p95 {p95:.1f} ms")
        print(f"  target {TARGET_MS} ms: {'pass' if median < TARGET_MS else 'FAIL'}")
    bench_result("send dispatch, per message", median, "ms", TARGET_MS, note=f"p95 {p95:.1f} ms, {WAITING:,} waiting")
    assert median < TARGET_MS
