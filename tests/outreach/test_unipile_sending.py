"""The real Unipile adapter over HTTP to the fake server, through the dispatcher: each answer's action."""

import datetime as dt

import pytest

from leads.models import Lead
from outreach.models import OutreachMessage, SendCounter, SendingAccount
from outreach.replies import outreach_poll_replies
from outreach.sending import outreach_send_next
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db
Status, Kind, Health = OutreachMessage.Status, OutreachMessage.Kind, SendingAccount.Health
NOW = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def linkedin(alice, fake_unipile):
    fake_unipile.add_account("acc-1", user_id="ACo-me")
    return SendingAccountFactory(
        owner=alice, channel="unipile", provider_account_id="acc-1", provider_user_id="ACo-me",
        activated_on=NOW.date() - dt.timedelta(days=365),
    )  # fmt: skip


def approved(account, provider_id: str, kind=Kind.CONNECTION_NOTE) -> OutreachMessage:
    campaign = CampaignFactory(accounts=[account])
    lead = LeadFactory(campaign=campaign, owner=account.owner, provider_id=provider_id)
    return MessageFactory(
        lead=lead, campaign=campaign, account=account, kind=kind, status=Status.APPROVED,
        decided_at=NOW - dt.timedelta(hours=1), not_before=NOW - dt.timedelta(hours=1),
    )  # fmt: skip


def send(account) -> str:
    return outreach_send_next(account_id=account.pk, now=NOW)


def test_an_invitation_goes_out_once_with_its_note(linkedin, fake_unipile):
    message = approved(linkedin, "ACo-lena")
    assert send(linkedin) == "sent"
    assert send(linkedin) == "idle"
    (call,) = fake_unipile.calls("POST", "/api/v1/users/invite")
    assert call["json"] == {"provider_id": "ACo-lena", "account_id": "acc-1", "message": message.body}
    current = OutreachMessage.objects.get(pk=message.pk)
    assert current.status == Status.SENT and current.provider_message_id


@pytest.mark.parametrize(
    ("provider_id", "outcome", "status", "health"),
    [
        ("ACo-checkpoint", "account_disconnected", Status.APPROVED, Health.AUTH_ERROR),
        ("ACo-restricted", "account_restricted", Status.APPROVED, Health.RESTRICTED),
        ("ACo-already-invited", "duplicate", Status.CANCELLED, Health.OK),
        ("ACo-limit", "rate_limited", Status.APPROVED, Health.OK),
        ("ACo-429", "rate_limited", Status.APPROVED, Health.OK),
        ("ACo-cannot-invite", "not_connected", Status.FAILED, Health.OK),
        ("ACo-too-long", "fatal", Status.FAILED, Health.OK),
        ("ACo-no-session", "transient", Status.APPROVED, Health.OK),
        ("ACo-timeout-lost", "unknown", Status.UNKNOWN, Health.OK),
    ],
)
def test_each_provider_answer_has_its_action(linkedin, provider_id, outcome, status, health):
    message = approved(linkedin, provider_id)
    assert send(linkedin) == outcome
    current = OutreachMessage.objects.get(pk=message.pk)
    linkedin.refresh_from_db()
    assert (current.status, linkedin.health) == (status, health)
    if outcome == "rate_limited":
        assert SendCounter.objects.get(account=linkedin, kind="invite").closed
    if outcome == "not_connected":
        assert Lead.objects.get(pk=message.lead_id).unreachable  # no email to fall back on
    slots = SendCounter.objects.get(account=linkedin, kind="invite").count
    assert slots == (1 if status == Status.UNKNOWN else 0)  # a refusal gives the day's slot back


def test_a_timeout_after_the_invitation_left_counts_as_sent(linkedin, fake_unipile):
    approved(linkedin, "ACo-timeout")
    assert send(linkedin) == "sent"
    assert len(fake_unipile.calls("POST", "/api/v1/users/invite")) == 1  # checked, never resent


def test_a_message_without_a_connection_is_redrafted_as_an_invitation(linkedin, monkeypatch):
    monkeypatch.setattr("outreach.tasks.messages_fill_task.delay_on_commit", lambda ids: None)
    message = approved(linkedin, "ACo-no-connection", kind=Kind.MESSAGE)
    assert send(linkedin) == "not_connected"
    assert OutreachMessage.objects.get(rerouted_from=message).kind == Kind.CONNECTION_NOTE


def test_a_reply_polled_from_unipile_finds_its_conversation(linkedin, fake_unipile, settings):
    message = approved(linkedin, "ACo-lena", kind=Kind.MESSAGE)
    assert send(linkedin) == "sent"
    chat_id = OutreachMessage.objects.get(pk=message.pk).chat_id
    fake_unipile.add_message(account_id="acc-1", sender_id="ACo-lena", text="Happy to chat", chat_id=chat_id)
    fake_unipile.add_message(account_id="acc-1", sender_id="ACo-me", text="(our own, from the phone)", chat_id=chat_id)
    assert outreach_poll_replies(account_id=linkedin.pk) == 1
    assert outreach_poll_replies(account_id=linkedin.pk) == 0
    reply = message.replies.get()
    assert (reply.text, reply.lead) == ("Happy to chat", message.lead)
