"""Scaling out: more worker processes send more per second, and every limit still holds.

Each send waits half a second for the (sandbox) provider to answer, as a real provider call
does, so the work is bound by waiting, not by this machine's two cores. One worker sends the
first half; two more join for the second half; the second half must go clearly faster.
"""

import time
from collections import Counter

import pytest
from django.conf import settings as django_settings

from outreach.models import OutreachMessage, SendCounter
from outreach.tasks import outreach_send_next_task
from salesdept.celery import app
from tests.factories import CampaignFactory
from tests.integration.conftest import wait_for
from tests.integration.test_send_workers import MONDAY_9, approve_all, make_accounts, outbox_lines, set_clock

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = OutreachMessage.Status
ACCOUNTS, PER_ACCOUNT, CAP = 12, 6, 6
HALF = ACCOUNTS * PER_ACCOUNT // 2


def test_more_workers_send_faster_and_every_limit_holds(settings, tmp_path, alice, celery_worker_process, capsys):
    clock_file = tmp_path / "clock"
    set_clock(clock_file, MONDAY_9)
    settings.CLOCK_FILE = str(clock_file)
    accounts = make_accounts(alice, ACCOUNTS, daily_messages=CAP, min_gap_seconds=0, max_gap_seconds=0)
    campaign = CampaignFactory(owner=alice, status="active")
    campaign.sending_accounts.set(accounts)
    for account in accounts:
        approve_all(campaign, account, alice, PER_ACCOUNT, provider_id="ACo-inject-slow")
    env = {"SALESDEPT_CLOCK_FILE": str(clock_file), "SANDBOX_SLOW_SECONDS": "0.5"}

    def sent() -> int:
        return OutreachMessage.objects.filter(status=Status.SENT).count()

    def rate_until(count: int) -> float:
        """Sends per second from now until `count` have gone out in all."""
        started, before = time.monotonic(), sent()

        def done() -> bool:
            for account in accounts:
                outreach_send_next_task.delay(account.pk)
            time.sleep(0.2)
            return sent() >= count

        wait_for(f"{count} sends", done, timeout=120)
        return (sent() - before) / (time.monotonic() - started)

    celery_worker_process(beat=False, **env)
    one = rate_until(HALF)
    # The ticks queued for the first worker would go on sending while the next two start (slowly on a
    # busy machine) and leave them nothing to measure: drop them; a send in flight still finishes.
    app.control.purge()
    for _ in range(2):
        celery_worker_process(beat=False, purge=False, **env)
    three = rate_until(ACCOUNTS * PER_ACCOUNT)

    with capsys.disabled():
        print(f"\nsends per second: 1 worker {one:.1f}, 3 workers {three:.1f}")
    assert three > 1.5 * one, f"3 workers sent {three:.1f}/s, 1 worker {one:.1f}/s"
    statuses = Counter(OutreachMessage.objects.values_list("status", flat=True))
    assert statuses == {Status.SENT: ACCOUNTS * PER_ACCOUNT}
    delivered = Counter(line["key"] for line in outbox_lines(django_settings.SANDBOX_OUTBOX))
    assert len(delivered) == ACCOUNTS * PER_ACCOUNT and set(delivered.values()) == {1}
    counters = SendCounter.objects.filter(kind="message", day=MONDAY_9.date())
    assert sorted(counters.values_list("count", flat=True)) == [CAP] * ACCOUNTS  # each cap reached, none passed
