import datetime as dt
import json
import zoneinfo

import pytest
from django.utils import timezone

from approvals.services import message_approve
from leads.models import Activity, Lead
from outreach.invitations import invitation_accepted
from outreach.models import OutreachMessage, SendCounter, SendingAccount
from outreach.sending import outreach_dispatch, outreach_send_next, sends_mark_stuck_unknown
from tests.factories import LeadFactory, MessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db
Status = OutreachMessage.Status
LONDON = zoneinfo.ZoneInfo("Europe/London")


def _next_wednesday() -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=(2 - today.weekday()) % 7 or 7)


# Next Wednesday at 10:00 in London: always after the approvals a test makes.
WEDNESDAY_10 = dt.datetime.combine(_next_wednesday(), dt.time(10), tzinfo=LONDON)


def approved(campaign, owner, account, **lead_fields) -> OutreachMessage:
    lead = LeadFactory(campaign=campaign, owner=owner, **lead_fields)
    message = MessageFactory(lead=lead, campaign=campaign, account=account)
    return message_approve(message=message, actor=owner, revision=1)


def outbox(settings) -> list[dict]:
    path = settings.SANDBOX_OUTBOX
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_it_sends_an_approved_message_once(campaign, alice, alice_account, settings):
    message = approved(campaign, alice, alice_account)
    assert outreach_send_next(account_id=alice_account.pk) == "sent"
    assert outreach_send_next(account_id=alice_account.pk) == "idle"
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.attempts == 1
    assert message.provider_message_id == f"sandbox-{message.idempotency_key}"
    assert [line["key"] for line in outbox(settings)] == [str(message.idempotency_key)]
    assert message.lead.__class__.objects.get(pk=message.lead_id).status == Lead.Status.CONTACTED
    assert Activity.objects.filter(verb="message.sent", message=message).count() == 1


def test_it_waits_for_the_working_window(campaign, alice, alice_account, settings):
    SendingAccount.objects.filter(pk=alice_account.pk).update(
        work_start=dt.time(9), work_end=dt.time(17, 30), working_days=[0, 1, 2, 3, 4], timezone="Europe/London"
    )
    approved(campaign, alice, alice_account)
    saturday = WEDNESDAY_10 + dt.timedelta(days=3)
    early = WEDNESDAY_10.replace(hour=8, minute=59)
    assert outreach_send_next(account_id=alice_account.pk, now=saturday) == "closed"
    assert outreach_send_next(account_id=alice_account.pk, now=early) == "closed"
    assert outbox(settings) == []
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10) == "sent"


def test_it_respects_the_window_in_the_accounts_timezone(campaign, alice, alice_account):
    SendingAccount.objects.filter(pk=alice_account.pk).update(
        work_start=dt.time(9), work_end=dt.time(17), working_days=[0, 1, 2, 3, 4], timezone="America/New_York"
    )
    approved(campaign, alice, alice_account)
    # 10:00 in London is 05:00 in New York: closed. 15:00 in London is 10:00 there: open.
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10) == "closed"
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10.replace(hour=15)) == "sent"


def test_it_never_exceeds_the_daily_cap(campaign, alice, alice_account, settings):
    SendingAccount.objects.filter(pk=alice_account.pk).update(daily_invites=2)
    messages = [approved(campaign, alice, alice_account) for _ in range(3)]
    results = [outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10) for _ in range(3)]
    assert results == ["sent", "sent", "cap"]
    assert len(outbox(settings)) == 2
    assert SendCounter.objects.get(account=alice_account, kind="invite").count == 2
    assert OutreachMessage.objects.get(pk=messages[2].pk).status == Status.APPROVED  # waits for tomorrow
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10 + dt.timedelta(hours=2)) == "cap"
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10 + dt.timedelta(days=1)) == "sent"


def test_warm_up_caps_a_new_account(campaign, alice, alice_account):
    SendingAccount.objects.filter(pk=alice_account.pk).update(
        warmup_start=1, warmup_weekly_step=1, activated_on=WEDNESDAY_10.date()
    )
    approved(campaign, alice, alice_account)
    approved(campaign, alice, alice_account)
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10) == "sent"
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10) == "cap"


def test_it_keeps_a_random_gap_between_sends(campaign, alice, alice_account):
    SendingAccount.objects.filter(pk=alice_account.pk).update(min_gap_seconds=120, max_gap_seconds=120)
    approved(campaign, alice, alice_account)
    approved(campaign, alice, alice_account)
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10) == "sent"
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10 + dt.timedelta(seconds=60)) == "gap"
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10 + dt.timedelta(seconds=121)) == "sent"


def test_it_cancels_a_message_to_a_lead_marked_do_not_contact(campaign, alice, alice_account, settings):
    message = approved(campaign, alice, alice_account)
    Lead.objects.filter(pk=message.lead_id).update(status=Lead.Status.DO_NOT_CONTACT)
    assert outreach_send_next(account_id=alice_account.pk) == "cancelled"
    assert OutreachMessage.objects.get(pk=message.pk).status == Status.CANCELLED
    assert outbox(settings) == []


def test_it_holds_messages_of_a_paused_campaign(campaign, alice, alice_account, settings):
    approved(campaign, alice, alice_account)
    campaign.status = "paused"
    campaign.save(update_fields=["status"])
    assert outreach_send_next(account_id=alice_account.pk) == "idle"
    assert outbox(settings) == []


def test_a_rate_limit_gives_the_slot_back_and_waits(campaign, alice, alice_account, settings):
    message = approved(campaign, alice, alice_account, provider_id="inject-rate_limited-1")
    assert outreach_send_next(account_id=alice_account.pk, now=WEDNESDAY_10) == "rate_limited"
    message.refresh_from_db()
    assert message.status == Status.APPROVED
    assert message.not_before > WEDNESDAY_10 + dt.timedelta(hours=12)
    assert SendCounter.objects.get(account=alice_account, kind="invite").count == 0


def test_a_disconnected_account_is_paused(campaign, alice, alice_account):
    message = approved(campaign, alice, alice_account, provider_id="inject-account_disconnected-1")
    assert outreach_send_next(account_id=alice_account.pk) == "account_disconnected"
    alice_account.refresh_from_db()
    assert alice_account.health == SendingAccount.Health.AUTH_ERROR
    assert OutreachMessage.objects.get(pk=message.pk).status == Status.APPROVED
    assert outreach_send_next(account_id=alice_account.pk) == "paused"


def test_a_fatal_error_fails_the_message_with_the_reason(campaign, alice, alice_account):
    message = approved(campaign, alice, alice_account, provider_id="inject-fatal-1")
    assert outreach_send_next(account_id=alice_account.pk) == "fatal"
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "injected fatal" in message.last_error


def test_an_unknown_outcome_is_never_resent(campaign, alice, alice_account, settings):
    message = approved(campaign, alice, alice_account, provider_id="inject-unknown-1")
    assert outreach_send_next(account_id=alice_account.pk) == "unknown"
    assert outreach_send_next(account_id=alice_account.pk) == "idle"
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN
    assert message.attempts == 1


def test_a_send_stuck_in_sending_becomes_unknown(campaign, alice, alice_account):
    message = approved(campaign, alice, alice_account)
    started = timezone.now() - dt.timedelta(minutes=30)
    OutreachMessage.objects.filter(pk=message.pk).update(status=Status.SENDING, sending_started_at=started)
    recent = approved(campaign, alice, alice_account)
    OutreachMessage.objects.filter(pk=recent.pk).update(status=Status.SENDING, sending_started_at=timezone.now())
    assert sends_mark_stuck_unknown(now=timezone.now()) == 1
    assert OutreachMessage.objects.get(pk=message.pk).status == Status.UNKNOWN
    assert OutreachMessage.objects.get(pk=recent.pk).status == Status.SENDING


def test_dispatch_asks_only_open_accounts_with_due_work(campaign, alice, alice_account, dan_account, monkeypatch):
    from outreach import tasks

    asked = []
    monkeypatch.setattr(tasks.outreach_send_next_task, "delay", asked.append)
    approved(campaign, alice, alice_account)
    idle = SendingAccountFactory(owner=alice)
    assert outreach_dispatch(now=timezone.now()) == [alice_account.pk]
    assert asked == [alice_account.pk]
    assert idle.pk not in asked


def test_follow_ups_are_drafted_after_the_steps_delay(campaign, alice, alice_account, monkeypatch):
    from outreach import tasks
    from outreach.services import followups_draft_due

    drafted = []
    monkeypatch.setattr(tasks.messages_draft_task, "delay_on_commit", lambda ids, step: drafted.append((ids, step)))
    message = approved(campaign, alice, alice_account)
    assert outreach_send_next(account_id=alice_account.pk) == "sent"
    message.refresh_from_db()
    assert message.kind == "connection_note" and campaign.steps.get(order=2).kind == "message"
    # A LinkedIn message reaches only a connection: nothing while the invitation waits.
    assert followups_draft_due(now=message.sent_at + dt.timedelta(days=10)) == []
    accepted = message.sent_at + dt.timedelta(days=1)
    assert invitation_accepted(account=alice_account, provider_id=message.lead.provider_id, at=accepted)
    assert followups_draft_due(now=accepted + dt.timedelta(days=2)) == []  # step 2 waits 3 days
    assert followups_draft_due(now=accepted + dt.timedelta(days=3, minutes=1)) == [message.lead_id]
    assert drafted == [([message.lead_id], 2)]
