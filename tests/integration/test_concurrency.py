"""Exactly once and caps never exceeded, under real concurrency on PostgreSQL.

Each thread has its own database connection (Django opens one per thread), so the row
locks, `skip_locked` and conditional UPDATEs are exercised as they are between workers.
A barrier releases the threads together to make them overlap as much as possible.
"""

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import pytest
from django.db import connection
from django.utils import timezone

from approvals.services import DecisionError, message_approve
from campaigns.models import SequenceStep
from leads.models import Activity
from outreach import limits
from outreach.models import OutreachMessage, SendCounter, SendingAccount
from outreach.sending import outreach_send_next
from outreach.tasks import outreach_send_next_task
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Status = OutreachMessage.Status
T = TypeVar("T")
THREADS = 8


def run_together(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(i)` in `count` threads released at once; re-raise the first error."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            connection.ensure_connection()  # connect first: only the work itself races
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,), name=f"racer-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [t.name for t in threads if t.is_alive()], "a thread never finished (deadlock?)"
    if errors:
        raise errors[0]
    return results


def send_until_idle(account_ids: list[int], *, max_calls: int = 500) -> list[str]:
    """What one worker does: ask each account for its next send until each has nothing more for today."""
    outcomes: list[str] = []
    pending = list(account_ids)
    for _ in range(max_calls):
        for account_id in list(pending):
            outcome = outreach_send_next(account_id=account_id)
            outcomes.append(outcome)
            if outcome in ("idle", "cap"):
                pending.remove(account_id)
        if not pending:
            return outcomes
    raise AssertionError(f"still not idle after {max_calls} rounds: {Counter(outcomes)}")


def zone_at_midday(now: dt.datetime) -> str:
    """A fixed-offset zone where it is about noon: the local day cannot roll over mid-test."""
    offset = 12 - now.astimezone(dt.UTC).hour  # -11 … +12 hours
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def approved_messages(campaign, account: SendingAccount, count: int, owner) -> list[OutreachMessage]:
    due = timezone.now() - dt.timedelta(minutes=1)
    return [
        MessageFactory(
            lead=LeadFactory(campaign=campaign, owner=owner),
            account=account,
            kind=OutreachMessage.Kind.MESSAGE,
            status=Status.APPROVED,
            decided_by=owner,
            decided_at=due,
            not_before=due,
        )
        for _ in range(count)
    ]


def outbox_keys(path) -> Counter:
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(json.loads(line)["key"] for line in lines)


def outbox_accounts(path) -> dict[str, int]:
    lines = path.read_text().splitlines() if path.exists() else []
    return {json.loads(line)["key"]: json.loads(line)["account"] for line in lines}


def test_it_sends_each_message_once_and_never_past_the_daily_cap(settings, alice, bob):
    now = timezone.now()
    account = SendingAccountFactory(
        owner=alice, daily_messages=10, warmup_start=100, timezone=zone_at_midday(now)
    )  # cap 10, no gap, open all day
    campaign = CampaignFactory(owner=bob, accounts=[account], steps=[SequenceStep.Kind.MESSAGE])
    approved_messages(campaign, account, 30, alice)

    runs = run_together(THREADS, lambda _: send_until_idle([account.pk]))

    outcomes = Counter(outcome for run in runs for outcome in run)
    assert outcomes["sent"] == 10
    assert outcomes["cap"] == THREADS  # every worker stops at the cap: nothing more goes today
    assert not set(outcomes) - {"sent", "cap", "gap", "lost", "busy"}

    sent = OutreachMessage.objects.filter(account=account, status=Status.SENT)
    assert sent.count() == 10
    keys = outbox_keys(settings.SANDBOX_OUTBOX)
    assert set(keys.values()) == {1}  # nobody got a message twice
    assert set(keys) == {str(key) for key in sent.values_list("idempotency_key", flat=True)}
    assert set(sent.values_list("attempts", flat=True)) == {1}
    activities = Activity.objects.filter(verb="message.sent")
    assert activities.count() == 10
    assert set(activities.values_list("message_id", flat=True)) == set(sent.values_list("pk", flat=True))

    counter = SendCounter.objects.get(account=account)
    assert (counter.kind, counter.count) == (SendCounter.Kind.MESSAGE, 10)
    assert counter.day == now.astimezone(account.tz).date()

    waiting = OutreachMessage.objects.filter(account=account).exclude(status=Status.SENT)
    assert waiting.count() == 20
    assert set(waiting.values_list("status", flat=True)) == {Status.APPROVED}
    assert set(waiting.values_list("attempts", flat=True)) == {0}
    tomorrow = limits.next_day_window(account, now)
    assert outreach_send_next(account_id=account.pk, now=tomorrow) == "sent"  # the next day's cap is fresh


def test_it_lets_one_of_two_simultaneous_approvals_win(alice, bob, campaign, alice_account, monkeypatch):
    sends_asked: list[int] = []
    lock = threading.Lock()

    def record_send(args: tuple, countdown: int = 0) -> None:
        with lock:
            sends_asked.append(args[0])

    monkeypatch.setattr(outreach_send_next_task, "apply_async", record_send)  # no broker: count the asks
    drafts = [
        MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice, first_name="Lena"), account=alice_account)
        for _ in range(5)
    ]
    deciders = [alice, bob]  # the rep and her manager both see the draft

    for draft in drafts:

        def decide(index: int, draft: OutreachMessage = draft) -> str:
            mine = OutreachMessage.objects.select_related("lead", "campaign").get(pk=draft.pk)
            try:
                message_approve(message=mine, actor=deciders[index], revision=mine.revision)
            except DecisionError as exc:
                return f"refused: {exc}"
            return "approved"

        results = run_together(2, decide)

        assert sorted(results)[0] == "approved", results
        assert sorted(results)[1].startswith("refused: "), results
        draft.refresh_from_db()
        winner = draft.decided_by
        assert draft.status == Status.APPROVED
        assert winner in deciders
        refusal = sorted(results)[1]
        assert f"Already approved by {winner.get_full_name()}" in refusal
        assert "Nothing was changed" in refusal
        assert Activity.objects.filter(verb="message.approved", message=draft).count() == 1
        assert Activity.objects.get(verb="message.approved", message=draft).actor == winner
        assert draft.revision == 1  # the loser's (identical) text did not bump it

    assert sends_asked == [alice_account.pk] * len(drafts)  # one send asked for per approval


def test_it_keeps_each_accounts_cap_to_itself(settings, alice, dan, bob):
    now = timezone.now()
    zone = zone_at_midday(now)
    small = SendingAccountFactory(owner=alice, name="Small", daily_messages=3, warmup_start=100, timezone=zone)
    large = SendingAccountFactory(owner=dan, name="Large", daily_messages=5, warmup_start=100, timezone=zone)
    campaign = CampaignFactory(owner=bob, accounts=[small, large], steps=[SequenceStep.Kind.MESSAGE])
    approved_messages(campaign, small, 10, alice)
    approved_messages(campaign, large, 10, dan)

    # Half the workers start with one account, half with the other: their claims interleave.
    run_together(THREADS, lambda i: send_until_idle([small.pk, large.pk] if i % 2 else [large.pk, small.pk]))

    for account, cap in ((small, 3), (large, 5)):
        sent = OutreachMessage.objects.filter(account=account, status=Status.SENT)
        assert sent.count() == cap, account.name
        assert SendCounter.objects.get(account=account).count == cap
        assert OutreachMessage.objects.filter(account=account, status=Status.APPROVED).count() == 10 - cap
    keys = outbox_keys(settings.SANDBOX_OUTBOX)
    assert sum(keys.values()) == 8
    assert set(keys.values()) == {1}
    by_key = {str(m.idempotency_key): m.account_id for m in OutreachMessage.objects.filter(status=Status.SENT)}
    assert outbox_accounts(settings.SANDBOX_OUTBOX) == by_key  # each went out from its own account


def test_an_undo_racing_the_send_claim_either_stops_the_send_or_is_refused(settings, alice, bob):
    """Undo and the send claim race on one approved message: exactly one wins, every time."""
    from approvals.services import message_unapprove

    now = timezone.now()
    outcomes = Counter()
    for _ in range(10):
        account = SendingAccountFactory(owner=alice, warmup_start=100, min_gap_seconds=0, max_gap_seconds=0)
        account.timezone = zone_at_midday(now)
        account.save(update_fields=["timezone"])
        campaign = CampaignFactory(owner=bob, accounts=[account], steps=[SequenceStep.Kind.MESSAGE])
        [message] = approved_messages(campaign, account, 1, alice)

        def race(index: int, message=message, account=account) -> str:
            if index == 0:
                return outreach_send_next(account_id=account.pk)
            try:
                message_unapprove(message=OutreachMessage.objects.get(pk=message.pk), actor=alice)
            except DecisionError:
                return "undo refused"
            return "undone"

        sent, undo = run_together(2, race)
        message.refresh_from_db()
        assert (sent, undo, message.status) in {
            ("sent", "undo refused", Status.SENT),
            ("idle", "undone", Status.PENDING_APPROVAL),
            ("busy", "undone", Status.PENDING_APPROVAL),  # undone between the send's look and its lock
        }, (sent, undo, message.status)
        assert outbox_keys(settings.SANDBOX_OUTBOX)[str(message.idempotency_key)] == (1 if sent == "sent" else 0)
        outcomes[undo] += 1
    assert sum(outcomes.values()) == 10


def test_one_person_in_many_campaigns_gets_one_touch_whichever_accounts_race(settings, alice, bob):
    """Each campaign sends from its own account: the contact budget still holds across them.

    Every account locks only its own message; the person's row is what makes the budget read
    once. Without it each worker reads "no touch yet" and they all send.
    """
    from leads.enrolments import lead_enrol

    settings.CONTACT_MIN_GAP_DAYS = 3
    now = timezone.now()
    accounts = [
        SendingAccountFactory(owner=alice, daily_messages=10, warmup_start=100, timezone=zone_at_midday(now))
        for _ in range(THREADS)
    ]
    campaigns = [
        CampaignFactory(owner=bob, accounts=[account], steps=[SequenceStep.Kind.MESSAGE]) for account in accounts
    ]
    lead = LeadFactory(campaign=campaigns[0], owner=alice)
    for campaign in campaigns[1:]:
        assert lead_enrol(lead=lead, campaign=campaign, source="sandbox") == ""
    due = now - dt.timedelta(minutes=1)
    for campaign, account in zip(campaigns, accounts, strict=True):
        MessageFactory(
            lead=lead,
            campaign=campaign,
            account=account,
            kind=OutreachMessage.Kind.MESSAGE,
            status=Status.APPROVED,
            decided_by=alice,
            decided_at=due,
            not_before=due,
        )

    runs = run_together(THREADS, lambda i: send_until_idle([accounts[i].pk]))

    outcomes = Counter(outcome for run in runs for outcome in run)
    assert outcomes["sent"] == 1
    assert OutreachMessage.objects.filter(lead=lead, status=Status.SENT).count() == 1
    waiting = OutreachMessage.objects.filter(lead=lead, status=Status.APPROVED)
    assert waiting.count() == THREADS - 1  # held by the budget, not dropped
    assert all(m.not_before >= now + dt.timedelta(days=3) - dt.timedelta(minutes=1) for m in waiting)
