"""`make bench`: what one send costs on the database side, with 20,000 approved messages waiting.

The target (issue 22) is the database time of one send: the sum of its statements' times, so a
busy machine's Python does not hide or excuse it. Wall time is reported beside it.

Five accounts, 4,000 approved messages each, 100,000 sent messages in their history (the contact
budget and the counters read them). The sandbox channel writes one line per send, so the figure
is the dispatcher's own cost: candidates, lock, re-checks, cap, gap, claim and result.
Run it on PostgreSQL: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesdept_bench make bench`.
"""

import datetime as dt
import statistics
import time

import pytest
from django.db import connection

from leads.models import Lead
from outreach.models import OutreachMessage
from outreach.sending import outreach_send_next
from salesdept.db import analyze
from tests.factories import CampaignFactory, SendingAccountFactory, UserFactory

pytestmark = [pytest.mark.bench, pytest.mark.django_db]
ACCOUNTS, WAITING, HISTORY, SENDS = 5, 20_000, 100_000, 300
TARGET_DB_MS, TARGET_MS = 5, 50
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
                priority=i % 100 if i < WAITING else -1,  # as approval sets it: the lead's score
                decided_at=decided,
                not_before=decided,
                sent_at=None if i < WAITING else NOW - dt.timedelta(days=10 + i % 50),
            )
            for i, lead_id in enumerate(leads)
        ),
        batch_size=5_000,
    )
    analyze(Lead, OutreachMessage)  # fresh statistics, as autovacuum keeps them in production
    return accounts


class StatementTimer:
    """A connection.execute_wrapper: the statements run inside it and the time they took."""

    def __init__(self) -> None:
        self.statements, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements += 1
            self.seconds += time.perf_counter() - started


def test_bench_one_send(capsys, bench_result):
    accounts = _build()
    samples, db_samples, statements = [], [], set()
    for i in range(SENDS):
        account = accounts[i % ACCOUNTS]
        timer = StatementTimer()
        started = time.perf_counter()
        with connection.execute_wrapper(timer):
            assert outreach_send_next(account_id=account.pk, now=NOW + dt.timedelta(seconds=i)) == "sent"
        samples.append((time.perf_counter() - started) * 1000)
        db_samples.append(timer.seconds * 1000)
        statements.add(timer.statements)
    median, p95 = statistics.median(samples), statistics.quantiles(samples, n=20)[-1]
    db_median, db_p95 = statistics.median(db_samples), statistics.quantiles(db_samples, n=20)[-1]
    counted = "/".join(str(n) for n in sorted(statements))
    with capsys.disabled():
        print(f"\nsend dispatch per message ({WAITING:,} waiting), {counted} statements:")
        print(f"  database median {db_median:.1f} ms, p95 {db_p95:.1f} ms (target {TARGET_DB_MS} ms)")
        print(f"  wall median {median:.1f} ms, p95 {p95:.1f} ms (target {TARGET_MS} ms)")
    bench_result(
        "send dispatch, database time per message",
        db_median,
        "ms",
        TARGET_DB_MS,
        note=f"p95 {db_p95:.1f} ms, {counted} statements, {WAITING:,} waiting",
    )
    bench_result("send dispatch, wall time per message", median, "ms", TARGET_MS, note=f"p95 {p95:.1f} ms")
    assert db_median < TARGET_DB_MS
    assert median < TARGET_MS
