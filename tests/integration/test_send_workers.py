"""Exactly once with real worker processes on PostgreSQL, driven by a controllable clock.

Three `celery worker` processes (two pool processes each) compete for the same send tasks;
every tick of the clock asks each account for its next send three times over, so workers
race on every account all the time. The clock is a file the workers read (salesdept/clock.py):
the test walks it through three working days in gap-sized steps.
"""

import datetime as dt
import json
import os
import signal
import time
from collections import Counter, defaultdict

import pytest
from django.conf import settings as django_settings

from outreach.models import OutreachMessage, SendCounter
from outreach.sending import STUCK_AFTER
from outreach.tasks import outreach_send_next_task, sends_mark_stuck_unknown_task
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = OutreachMessage.Status
ACCOUNTS, PER_ACCOUNT, DAILY_CAP, GAP_SECONDS = 5, 100, 40, 120
WORKERS = 3
ASKS_PER_TICK = 3
# A Monday morning in UTC, the accounts' timezone; the approvals are dated before it.
MONDAY_9 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def set_clock(path, moment: dt.datetime) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(moment.isoformat())
    os.replace(tmp, path)  # the workers never read a half-written time


def outbox_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def make_accounts(owner, count: int = ACCOUNTS, **limits):
    return [
        SendingAccountFactory(
            owner=owner,
            timezone="UTC",
            working_days=[0, 1, 2, 3, 4, 5, 6],
            activated_on=MONDAY_9.date() - dt.timedelta(days=365),  # warmed up
            **limits,
        )
        for _ in range(count)
    ]


def approve_all(campaign, account, owner, count: int, **lead_fields) -> list[OutreachMessage]:
    decided = MONDAY_9 - dt.timedelta(hours=1)
    return [
        MessageFactory(
            lead=LeadFactory(campaign=campaign, owner=owner, **lead_fields),
            campaign=campaign,
            account=account,
            kind=OutreachMessage.Kind.MESSAGE,
            status=Status.APPROVED,
            decided_by=owner,
            decided_at=decided,
            not_before=decided,
        )
        for _ in range(count)
    ]


def test_workers_send_500_messages_once_each_within_caps_and_gaps(
    settings, tmp_path, alice, celery_worker_process, capsys
):
    clock_file = tmp_path / "clock"
    set_clock(clock_file, MONDAY_9)
    settings.CLOCK_FILE = str(clock_file)
    accounts = make_accounts(alice, daily_messages=DAILY_CAP, min_gap_seconds=GAP_SECONDS, max_gap_seconds=GAP_SECONDS)
    campaign = CampaignFactory(owner=alice, status="active")
    campaign.sending_accounts.set(accounts)
    for account in accounts:
        approve_all(campaign, account, alice, PER_ACCOUNT)
    env = {"SALESDEPT_CLOCK_FILE": str(clock_file)}
    workers = [celery_worker_process(beat=False, purge=index == 0, **env) for index in range(WORKERS)]

    now, ticks, started = MONDAY_9, 0, time.monotonic()
    # Until nothing waits and nothing is in flight: a send claimed a moment ago is still going out.
    while OutreachMessage.objects.filter(status__in=[Status.APPROVED, Status.SENDING]).exists():
        assert ticks < 400, (
            f"still sending after {ticks} ticks: {Counter(m.status for m in OutreachMessage.objects.all())}"
        )
        for account in accounts:
            for _ in range(ASKS_PER_TICK):
                outreach_send_next_task.delay(account.pk)
        time.sleep(0.25)
        ticks += 1
        capped = SendCounter.objects.filter(day=now.date(), kind="message", count__gte=DAILY_CAP).count()
        if capped == ACCOUNTS:  # every account spent its day: on to the next morning
            now = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC)
        else:
            now += dt.timedelta(seconds=GAP_SECONDS + 1)
        set_clock(clock_file, now)
    for worker in workers:
        worker.assert_alive()
    elapsed = time.monotonic() - started

    messages = list(OutreachMessage.objects.all())
    assert Counter(m.status for m in messages) == {Status.SENT: ACCOUNTS * PER_ACCOUNT}
    assert all(m.attempts == 1 for m in messages)
    delivered = Counter(line["key"] for line in outbox_lines(django_settings.SANDBOX_OUTBOX))
    assert len(delivered) == ACCOUNTS * PER_ACCOUNT
    assert set(delivered.values()) == {1}, "a message reached the network twice"
    by_account: dict[int, list[dt.datetime]] = defaultdict(list)
    for message in messages:
        by_account[message.account_id].append(message.sent_at)
    for account in accounts:
        sent = sorted(by_account[account.pk])
        per_day = Counter(moment.date() for moment in sent)
        assert max(per_day.values()) <= DAILY_CAP, f"{account} went past its cap: {per_day}"
        gaps = [(later - earlier).total_seconds() for earlier, later in zip(sent, sent[1:], strict=False)]
        assert min(gaps) >= GAP_SECONDS, f"{account} sent {min(gaps)} s apart"
        counters = {c.day: c.count for c in SendCounter.objects.filter(account=account, kind="message")}
        assert counters == dict(per_day), "the counters disagree with what went out"
    with capsys.disabled():
        print(f"\n{ACCOUNTS * PER_ACCOUNT} sends by {WORKERS} workers in {ticks} ticks, {elapsed:.1f} s")


def test_a_worker_killed_during_a_send_never_sends_it_twice(settings, tmp_path, alice, celery_worker_process):
    clock_file = tmp_path / "clock"
    set_clock(clock_file, MONDAY_9)
    settings.CLOCK_FILE = str(clock_file)
    (account,) = make_accounts(alice, 1, min_gap_seconds=0, max_gap_seconds=0)
    campaign = CampaignFactory(owner=alice, status="active")
    campaign.sending_accounts.set([account])
    # The sandbox delivers this one, then takes a minute to answer: the worker dies in between.
    (message,) = approve_all(campaign, account, alice, 1, provider_id="ACo-inject-slow-1")
    env = {"SALESDEPT_CLOCK_FILE": str(clock_file), "SANDBOX_SLOW_SECONDS": "60"}
    first = celery_worker_process(beat=False, **env)
    outreach_send_next_task.delay(account.pk)

    def delivered() -> int:
        return sum(line["key"] == str(message.idempotency_key) for line in outbox_lines(settings.SANDBOX_OUTBOX))

    wait_for("the slow send to reach the network", delivered, timeout=30)
    os.killpg(first.process.pid, signal.SIGKILL)  # parent, pool and all: no warm shutdown
    first.process.wait(timeout=10)
    assert OutreachMessage.objects.get(pk=message.pk).status == Status.SENDING

    celery_worker_process(beat=False, purge=False, **env)
    for _ in range(5):  # dispatch goes on as usual; the message is not `approved`, so nobody takes it
        outreach_send_next_task.delay(account.pk)
    set_clock(clock_file, MONDAY_9 + STUCK_AFTER + dt.timedelta(minutes=1))
    sends_mark_stuck_unknown_task.delay()
    wait_for(
        "the sweeper to mark the send unknown",
        lambda: OutreachMessage.objects.get(pk=message.pk).status == Status.UNKNOWN,
        timeout=30,
    )
    time.sleep(1)  # the five dispatches have had their turn
    assert delivered() == 1
    current = OutreachMessage.objects.get(pk=message.pk)
    assert (current.status, current.attempts) == (Status.UNKNOWN, 1)
    assert "check the conversation" in current.last_error
