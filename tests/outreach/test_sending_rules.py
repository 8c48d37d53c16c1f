"""What each kind of provider answer does, and the rules checked at the moment of sending."""

import datetime as dt

import pytest

from approvals.services import message_approve
from leads.models import Activity, Lead, Suppression
from leads.services import lead_override_score, leads_rescore
from leads.suppression import suppression_add_for_lead
from outreach.accounts import accounts_resume_due
from outreach.channels.base import ChannelError, SendResult
from outreach.models import OutreachMessage, SendCounter, SendingAccount
from outreach.sending import TRANSIENT_RETRIES, outreach_send_next
from salesdept.models import Notification
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db
Status, Kind = OutreachMessage.Status, OutreachMessage.Kind
Health = SendingAccount.Health
# A Wednesday at 10:00 UTC, later than any approval the tests make.
NOW = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC)


def approved(account, *, kind=Kind.MESSAGE, campaign=None, score=70, decided=None, **lead_fields) -> OutreachMessage:
    campaign = campaign or CampaignFactory(accounts=[account])
    lead = LeadFactory(campaign=campaign, owner=account.owner, score=score, **lead_fields)
    decided = decided or NOW - dt.timedelta(hours=1)
    return MessageFactory(
        lead=lead,
        campaign=campaign,
        account=account,
        kind=kind,
        subject="Hello" if kind == Kind.EMAIL else "",
        status=Status.APPROVED,
        decided_by=account.owner,
        decided_at=decided,
        not_before=decided,
    )


def status_of(message) -> str:
    return OutreachMessage.objects.get(pk=message.pk).status


@pytest.fixture
def account(alice):
    return SendingAccountFactory(owner=alice, activated_on=NOW.date() - dt.timedelta(days=365))


def test_the_best_scored_message_goes_first_then_the_longest_waiting(account):
    older_low = approved(account, score=40, decided=NOW - dt.timedelta(days=2))
    newer_high = approved(account, score=90)
    older_high = approved(account, score=90, decided=NOW - dt.timedelta(hours=5))
    hand_scored = approved(account, score=10, score_override=95)
    for _ in range(4):
        assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
    activities = Activity.objects.filter(verb="message.sent").order_by("pk").values_list("message_id", flat=True)
    assert list(activities) == [hand_scored.pk, older_high.pk, newer_high.pk, older_low.pk]


def sent_order() -> list[int]:
    return list(Activity.objects.filter(verb="message.sent").order_by("pk").values_list("message_id", flat=True))


def test_the_send_order_follows_the_score_set_at_approval(account, time_machine):
    time_machine.move_to(NOW - dt.timedelta(hours=2), tick=False)
    campaign = CampaignFactory(accounts=[account])
    drafts = [  # drafted before the leads were scored: the approval reads the score as it is then
        MessageFactory(
            lead=LeadFactory(campaign=campaign, score=score), account=account, kind=Kind.MESSAGE, priority=-1
        )
        for score in (30, 80)
    ]
    for draft in drafts:  # the lower score is approved first, so it has waited longer
        message_approve(message=draft, actor=account.owner, revision=draft.revision)
    time_machine.move_to(NOW, tick=False)
    for _ in drafts:
        assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
    assert sent_order() == [drafts[1].pk, drafts[0].pk]


def test_a_score_set_by_hand_after_approval_moves_the_message_up(account):
    high, low = approved(account, score=80), approved(account, score=30)
    lead_override_score(lead=low.lead, actor=account.owner, score=95, reason="Met them at the Summit")
    for _ in range(2):
        assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
    assert sent_order() == [low.pk, high.pk]


def test_a_rescore_after_approval_moves_the_message_up(account):
    campaign = CampaignFactory(accounts=[account])
    stale, steady = approved(account, campaign=campaign), approved(account, campaign=campaign)
    leads_rescore(campaign_id=campaign.pk)
    rule_score = Lead.objects.get(pk=stale.lead_id).score
    assert rule_score > 0
    Lead.objects.filter(pk=steady.lead_id).update(score_override=rule_score - 1)
    Lead.objects.filter(pk=stale.lead_id).update(score=0)  # scored low before engagement came in
    OutreachMessage.objects.filter(pk=steady.pk).update(priority=rule_score - 1)
    OutreachMessage.objects.filter(pk=stale.pk).update(priority=0)

    assert leads_rescore(campaign_id=campaign.pk) == 1

    for _ in range(2):
        assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
    assert sent_order() == [stale.pk, steady.pk]


def test_each_kind_has_its_own_daily_cap(account):
    SendingAccount.objects.filter(pk=account.pk).update(daily_invites=1, daily_inmails=1, daily_messages=5)
    invites = [approved(account, kind=Kind.CONNECTION_NOTE) for _ in range(2)]
    inmails = [approved(account, kind=Kind.INMAIL) for _ in range(2)]
    message = approved(account)
    results = [outreach_send_next(account_id=account.pk, now=NOW) for _ in range(4)]
    assert results == ["sent", "sent", "sent", "cap"]
    assert [status_of(m) for m in (*invites, *inmails, message)].count(Status.SENT) == 3
    assert status_of(message) == Status.SENT  # the invitation cap does not hold back a message
    counts = dict(SendCounter.objects.filter(account=account).values_list("kind", "count"))
    assert counts == {"invite": 1, "inmail": 1, "message": 1}


def test_the_weekly_invitation_cap_holds_across_days(account):
    SendingAccount.objects.filter(pk=account.pk).update(daily_invites=10, weekly_invites=3)
    for offset in (3, 2):
        SendCounter.objects.create(account=account, kind="invite", day=NOW.date() - dt.timedelta(days=offset), count=1)
    invites = [approved(account, kind=Kind.CONNECTION_NOTE) for _ in range(2)]
    assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
    assert outreach_send_next(account_id=account.pk, now=NOW) == "cap"
    assert [status_of(m) for m in invites].count(Status.APPROVED) == 1


def test_it_says_cap_when_the_week_left_no_invitation_for_today_and_keeps_the_invitation(account):
    SendingAccount.objects.filter(pk=account.pk).update(daily_invites=10, weekly_invites=2)
    for offset in (3, 2):
        SendCounter.objects.create(account=account, kind="invite", day=NOW.date() - dt.timedelta(days=offset), count=1)
    invite = approved(account, kind=Kind.CONNECTION_NOTE)
    assert outreach_send_next(account_id=account.pk, now=NOW) == "cap"
    # The day's counter now exists (empty), so the next tick sees the kind closed before any claim.
    assert SendCounter.objects.get(account=account, kind="invite", day=NOW.date()).count == 0
    assert outreach_send_next(account_id=account.pk, now=NOW) == "cap"
    assert status_of(invite) == Status.APPROVED


def fails_with(monkeypatch, error: ChannelError, detail: str = "provider said no", **extra) -> list:
    calls = []

    class Refusing:
        def send(self, message):
            calls.append(message.pk)
            return SendResult(error=error, detail=detail, **extra)

    monkeypatch.setattr("outreach.sending.channel_for", lambda channel: Refusing())
    return calls


def test_a_rate_limit_stops_that_kind_for_the_day_and_gives_the_slot_back(account, monkeypatch):
    invite = approved(account, kind=Kind.CONNECTION_NOTE)
    other_invite = approved(account, kind=Kind.CONNECTION_NOTE)
    message = approved(account, score=10)
    fails_with(monkeypatch, ChannelError.RATE_LIMITED, "errors/limit_exceeded")
    assert outreach_send_next(account_id=account.pk, now=NOW) == "rate_limited"
    counter = SendCounter.objects.get(account=account, kind="invite")
    assert (counter.count, counter.closed) == (0, True)
    assert OutreachMessage.objects.get(pk=invite.pk).not_before.date() == NOW.date() + dt.timedelta(days=1)
    monkeypatch.undo()
    # The other invitation is not even tried today; the message still goes.
    assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
    assert status_of(message) == Status.SENT
    assert status_of(other_invite) == Status.APPROVED
    assert outreach_send_next(account_id=account.pk, now=NOW) == "cap"
    account.refresh_from_db()
    assert account.health == Health.OK  # once is not a pattern


def test_rate_limits_on_two_sending_days_running_rest_the_account_for_48_hours(account, alice, monkeypatch):
    SendCounter.objects.create(account=account, kind="invite", day=NOW.date() - dt.timedelta(days=1), closed=True)
    approved(account, kind=Kind.CONNECTION_NOTE)
    fails_with(monkeypatch, ChannelError.RATE_LIMITED, "429 Too many requests")
    assert outreach_send_next(account_id=account.pk, now=NOW) == "rate_limited"
    account.refresh_from_db()
    assert account.health == Health.PAUSED
    assert account.paused_until == NOW + dt.timedelta(hours=48)
    assert Notification.objects.filter(user=alice, text__contains="Rate limited").exists()
    assert outreach_send_next(account_id=account.pk, now=NOW) == "paused"
    assert accounts_resume_due(now=NOW + dt.timedelta(hours=47)) == 0
    assert accounts_resume_due(now=NOW + dt.timedelta(hours=48)) == 1
    account.refresh_from_db()
    assert (account.health, account.paused_until) == (Health.OK, None)


def test_a_transient_error_retries_with_growing_waits_then_fails(account, monkeypatch):
    message = approved(account)
    calls = fails_with(monkeypatch, ChannelError.TRANSIENT, "errors/provider_error")
    now, waits = NOW, []
    for _ in range(TRANSIENT_RETRIES):
        assert outreach_send_next(account_id=account.pk, now=now) == "transient"
        current = OutreachMessage.objects.get(pk=message.pk)
        assert current.status == Status.APPROVED
        waits.append((current.not_before - now).total_seconds() / 60)
        now = current.not_before
    assert waits == [5, 10, 20, 40]
    assert outreach_send_next(account_id=account.pk, now=now) == "transient"
    current = OutreachMessage.objects.get(pk=message.pk)
    assert current.status == Status.FAILED
    assert current.last_error.startswith(f"Gave up after {TRANSIENT_RETRIES + 1} attempts")
    assert len(calls) == TRANSIENT_RETRIES + 1
    assert SendCounter.objects.get(account=account, kind="message").count == 0  # nothing went out


@pytest.mark.parametrize(
    ("error", "health"),
    [(ChannelError.ACCOUNT_DISCONNECTED, Health.AUTH_ERROR), (ChannelError.ACCOUNT_RESTRICTED, Health.RESTRICTED)],
)
def test_an_account_problem_pauses_the_account_and_tells_its_owner(account, alice, monkeypatch, error, health):
    message = approved(account)
    fails_with(monkeypatch, error, "errors/checkpoint_error")
    assert outreach_send_next(account_id=account.pk, now=NOW) == error.value
    account.refresh_from_db()
    assert (account.health, account.health_reason) == (health, "errors/checkpoint_error")
    assert status_of(message) == Status.APPROVED  # nothing went out: it waits for the account
    notification = Notification.objects.get(user=alice)
    assert account.name in notification.text
    assert outreach_send_next(account_id=account.pk, now=NOW) == "paused"


def test_a_duplicate_is_cancelled_and_never_retried(account, monkeypatch):
    message = approved(account, kind=Kind.CONNECTION_NOTE)
    fails_with(monkeypatch, ChannelError.DUPLICATE, "errors/already_invited_recently")
    assert outreach_send_next(account_id=account.pk, now=NOW) == "duplicate"
    current = OutreachMessage.objects.get(pk=message.pk)
    assert current.status == Status.CANCELLED
    assert "already_invited_recently" in current.last_error


def test_a_fatal_error_fails_the_message_with_the_reason_shown(account, monkeypatch):
    message = approved(account)
    fails_with(monkeypatch, ChannelError.FATAL, "Too many characters")
    assert outreach_send_next(account_id=account.pk, now=NOW) == "fatal"
    current = OutreachMessage.objects.get(pk=message.pk)
    assert (current.status, current.last_error) == (Status.FAILED, "fatal: Too many characters")


def test_an_unreachable_recipient_gets_an_invitation_drafted_for_approval(account, monkeypatch):
    message = approved(account, kind=Kind.MESSAGE)
    fails_with(monkeypatch, ChannelError.NOT_CONNECTED, "errors/no_connection_with_recipient")
    filled = []
    monkeypatch.setattr("outreach.tasks.messages_fill_task.delay_on_commit", lambda ids: filled.append(ids))
    assert outreach_send_next(account_id=account.pk, now=NOW) == "not_connected"
    assert status_of(message) == Status.FAILED
    rerouted = OutreachMessage.objects.get(rerouted_from=message)
    assert (rerouted.kind, rerouted.status, rerouted.step) == (Kind.CONNECTION_NOTE, Status.GENERATING, 1)
    assert filled == [[rerouted.pk]]
    assert SendCounter.objects.get(account=account, kind="message").count == 0


def test_an_invitation_that_cannot_reach_them_goes_by_email_when_we_have_the_address(account, alice, monkeypatch):
    mailbox = SendingAccountFactory(
        owner=alice, channel="email", email_address="alice@sales.example", smtp_host="h", imap_host="h"
    )
    campaign = CampaignFactory(accounts=[account, mailbox])
    message = approved(account, kind=Kind.CONNECTION_NOTE, campaign=campaign, email="lena@fintech.example")
    fails_with(monkeypatch, ChannelError.NOT_CONNECTED, "errors/cannot_invite_attendee")
    monkeypatch.setattr("outreach.tasks.messages_fill_task.delay_on_commit", lambda ids: None)
    outreach_send_next(account_id=account.pk, now=NOW)
    rerouted = OutreachMessage.objects.get(rerouted_from=message)
    assert (rerouted.kind, rerouted.account) == (Kind.EMAIL, mailbox)


def test_with_no_other_way_the_lead_is_marked_unreachable_and_the_owner_told(account, alice, monkeypatch):
    message = approved(account, kind=Kind.CONNECTION_NOTE)  # no email address, no email account
    fails_with(monkeypatch, ChannelError.NOT_CONNECTED, "errors/cannot_invite_attendee")
    outreach_send_next(account_id=account.pk, now=NOW)
    assert not OutreachMessage.objects.filter(rerouted_from=message).exists()
    assert Lead.objects.get(pk=message.lead_id).unreachable is True
    assert Notification.objects.filter(user=alice, text__contains="cannot be reached").count() == 1


def test_a_full_provider_quota_stops_invitations_for_the_day(account, monkeypatch):
    approved(account, kind=Kind.CONNECTION_NOTE)
    later = approved(account, kind=Kind.CONNECTION_NOTE, score=10)

    class NearlyFull:
        def send(self, message):
            return SendResult(provider_message_id="inv-1", quota_used_pct=90)

    monkeypatch.setattr("outreach.sending.channel_for", lambda channel: NearlyFull())
    assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
    assert outreach_send_next(account_id=account.pk, now=NOW) == "cap"
    assert status_of(later) == Status.APPROVED


def test_one_contact_budget_per_person_across_campaigns(account, settings):
    settings.CONTACT_MIN_GAP_DAYS = 2
    first = approved(account)
    other_campaign = CampaignFactory(accounts=[account])
    second = MessageFactory(
        lead=first.lead,
        campaign=other_campaign,
        account=account,
        kind=Kind.MESSAGE,
        status=Status.APPROVED,
        decided_at=NOW - dt.timedelta(hours=1),
        not_before=NOW - dt.timedelta(hours=1),
    )
    assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
    assert outreach_send_next(account_id=account.pk, now=NOW) == "budget"
    held = OutreachMessage.objects.get(pk=second.pk)
    assert (held.status, held.not_before) == (Status.APPROVED, NOW + dt.timedelta(days=2))
    assert outreach_send_next(account_id=account.pk, now=NOW + dt.timedelta(days=2)) == "sent"


def test_the_budget_caps_touches_in_the_window(account, settings):
    settings.CONTACT_MIN_GAP_DAYS, settings.CONTACT_MAX_TOUCHES, settings.CONTACT_WINDOW_DAYS = 0, 2, 30
    message = approved(account)
    for days_ago in (20, 10):
        MessageFactory(
            lead=message.lead, campaign=message.campaign, step=10 + days_ago, status=Status.SENT,
            sent_at=NOW - dt.timedelta(days=days_ago),
        )  # fmt: skip
    assert outreach_send_next(account_id=account.pk, now=NOW) == "budget"
    assert OutreachMessage.objects.get(pk=message.pk).not_before == NOW + dt.timedelta(days=10)


def test_an_answer_to_their_reply_is_not_held_by_the_budget(account, settings):
    from outreach.models import InboundMessage

    first = approved(account)
    assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
    reply = InboundMessage.objects.create(
        lead=first.lead, account=account, in_reply_to=first, provider_id="r-1", text="Tell me more", received_at=NOW
    )
    Lead.objects.filter(pk=first.lead_id).update(status=Lead.Status.INTERESTED)
    answer = MessageFactory(
        lead=first.lead, campaign=first.campaign, account=account, kind=Kind.MESSAGE, reply_to=reply,
        status=Status.APPROVED, decided_at=NOW, not_before=NOW,
    )  # fmt: skip
    assert outreach_send_next(account_id=account.pk, now=NOW + dt.timedelta(minutes=5)) == "sent"
    assert status_of(answer) == Status.SENT


def test_a_suppressed_person_is_never_sent_to(account):
    message = approved(account, email="gone@fintech.example")
    suppression_add_for_lead(lead=message.lead, reason=Suppression.Reason.UNSUBSCRIBE)
    assert outreach_send_next(account_id=account.pk, now=NOW) == "cancelled"
    current = OutreachMessage.objects.get(pk=message.pk)
    assert (current.status, current.last_error) == (Status.CANCELLED, "The person is on the suppression list")


def test_prospect_hours_hold_a_message_until_their_morning(account):
    SendingAccount.objects.filter(pk=account.pk).update(
        prospect_hours=True, work_start=dt.time(9), work_end=dt.time(17, 30), working_days=[0, 1, 2, 3, 4]
    )
    sydney = approved(account, timezone="Australia/Sydney", score=90)  # 21:00 there
    london = approved(account, timezone="Europe/London", score=10)  # 10:00 there
    assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
    assert (status_of(london), status_of(sydney)) == (Status.SENT, Status.APPROVED)
    assert outreach_send_next(account_id=account.pk, now=NOW) == "idle"
    next_morning_sydney = dt.datetime(2026, 12, 9, 23, 0, tzinfo=dt.UTC)  # 10:00 Thursday there
    SendingAccount.objects.filter(pk=account.pk).update(work_start=dt.time(0), work_end=dt.time(23, 59))
    assert outreach_send_next(account_id=account.pk, now=next_morning_sydney) == "sent"


def test_an_approved_message_to_a_lead_snoozed_since_waits_for_the_wake_date(account):
    message = approved(account)
    Lead.objects.filter(pk=message.lead_id).update(status=Lead.Status.SNOOZED, snoozed_until=dt.date(2027, 1, 11))
    assert outreach_send_next(account_id=account.pk, now=NOW) == "snoozed"
    current = OutreachMessage.objects.get(pk=message.pk)
    assert current.status == Status.APPROVED
    assert current.not_before.date() == dt.date(2027, 1, 11)


def test_an_unexpected_exception_after_the_claim_leaves_the_outcome_unknown(account, monkeypatch):
    message = approved(account)

    class Broken:
        def send(self, message):
            raise KeyError("chat_id")

    monkeypatch.setattr("outreach.sending.channel_for", lambda channel: Broken())
    assert outreach_send_next(account_id=account.pk, now=NOW) == "unknown"
    current = OutreachMessage.objects.get(pk=message.pk)
    assert current.status == Status.UNKNOWN
    assert "KeyError" in current.last_error


def test_a_send_costs_the_same_queries_however_many_messages_wait(account):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_one_send(waiting: int) -> int:
        for _ in range(waiting):
            approved(account)
        with CaptureQueriesContext(connection) as captured:
            assert outreach_send_next(account_id=account.pk, now=NOW) == "sent"
        OutreachMessage.objects.all().delete()
        SendCounter.objects.all().delete()
        return len(captured)

    queries_for_one_send(1)  # warms what is cached between sends (webhook subscriptions): not per send
    few, many = queries_for_one_send(3), queries_for_one_send(40)
    assert few == many
    # Account, counters, candidates, lock, the person's lock (with whether they are suppressed and
    # whether their enrolment stopped), budget, cap (one upsert, the day's counter created with it), gap,
    # claim, two Activity rows, the "sent" milestone and its day's count, result, the lead's move to
    # contacted and its Activity row, the enrolment's step, and the two transactions' savepoints (4 of
    # the 21: a task runs them as transactions): a fixed set, whatever waits behind.
    assert few <= 21
