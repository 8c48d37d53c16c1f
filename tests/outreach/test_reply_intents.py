"""Every reply intent ends in the right state: the lead, the follow-up, the answer, the owner.

The offline template analyser reads the replies, so each intent comes from a realistic text.
"""

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import Lead, Suppression
from leads.services import leads_wake_snoozed
from leads.suppression import is_suppressed
from outreach.channels.base import InboundItem
from outreach.models import InboundMessage, OutreachMessage
from outreach.replies import inbound_analyse, inbound_confirm, inbound_record
from salesdept import dates
from salesdept.models import Notification
from tests.factories import CompanyFactory, LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
Status = OutreachMessage.Status

REPLIES = {
    "interested": "Thanks for reaching out, sounds good. Happy to chat next week.",
    "requesting_info": "Could you send me more details about the pricing?",
    "not_interested": "Thanks, but we're not interested at the moment.",
    "not_now": "Not now, we're busy with year-end. Try again in March.",
    "referral": "I'm not the right person. Please speak to Dana Whitfield, our Head of Partnerships.",
    "out_of_office": "I am out of office until Monday with limited access to messages.",
    "unsubscribe": "Please remove me from your list.",
    "unclear": "Hmm.",
}


@pytest.fixture
def conversation(campaign, alice, alice_account):
    """A sent invitation and the approved follow-up waiting behind it."""
    lead = LeadFactory(
        campaign=campaign, owner=alice, status=Lead.Status.CONTACTED, company=CompanyFactory(name="Finbank")
    )
    sent = MessageFactory(
        lead=lead, account=alice_account, status=Status.SENT, sent_at=timezone.now() - dt.timedelta(days=4)
    )
    follow_up = MessageFactory(
        lead=lead, account=alice_account, step=2, kind="message", status=Status.APPROVED, decided_by=alice
    )
    return sent, follow_up


def reply(conversation, alice_account, intent: str) -> InboundMessage:
    sent, _ = conversation
    item = InboundItem(
        provider_id=f"reply-{intent}",
        sender_provider_id=sent.lead.provider_id,
        text=REPLIES[intent],
        received_at=timezone.now(),
        in_reply_to_key=str(sent.idempotency_key),
    )
    assert inbound_record(account=alice_account, item=item)
    inbound = InboundMessage.objects.get(provider_id=item.provider_id)
    inbound_analyse(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    assert inbound.intent == intent
    if inbound.needs_look:  # the template is unsure of a one-word reading: the owner confirms it
        assert intent in ("interested", "requesting_info")
        inbound_confirm(inbound=inbound, actor=inbound.lead.owner, intent=intent)
    return inbound


def state(conversation):
    sent, follow_up = conversation
    lead = Lead.objects.get(pk=sent.lead_id)
    answer = OutreachMessage.objects.filter(reply_to__isnull=False, lead=lead).first()
    notified = list(Notification.objects.filter(user=lead.owner).values_list("text", flat=True))
    return lead, OutreachMessage.objects.get(pk=follow_up.pk), answer, notified


@pytest.mark.parametrize("intent", ["interested", "requesting_info"])
def test_a_positive_reply_or_a_question_marks_interest_and_puts_an_answer_before_the_owner(
    conversation, alice_account, intent
):
    inbound = reply(conversation, alice_account, intent)
    lead, follow_up, answer, notified = state(conversation)
    assert lead.status == Lead.Status.INTERESTED
    assert follow_up.status == Status.CANCELLED
    assert (answer.status, answer.reply_to) == (Status.PENDING_APPROVAL, inbound)
    assert len(notified) == 1 and notified[0].startswith(f"{lead.full_name} replied")
    # The template was unsure of one word: the owner heard of it as a reply needing a look.
    assert Notification.objects.get().url == f"/inbox/?look=1#reply-{inbound.pk}"


def test_not_interested_closes_the_lead_quietly(conversation, alice_account):
    reply(conversation, alice_account, "not_interested")
    lead, follow_up, answer, notified = state(conversation)
    assert (lead.status, follow_up.status, answer, notified) == (Lead.Status.LOST, Status.CANCELLED, None, [])


def test_not_now_snoozes_to_the_named_month_and_the_lead_comes_back_then(conversation, alice_account):
    inbound = reply(conversation, alice_account, "not_now")
    lead, follow_up, answer, notified = state(conversation)
    assert lead.status == Lead.Status.SNOOZED
    assert lead.snoozed_until == inbound.snooze_until
    assert lead.snoozed_until.month == 3
    assert (follow_up.status, answer, notified) == (Status.CANCELLED, None, [])
    assert leads_wake_snoozed(today=lead.snoozed_until - dt.timedelta(days=1)) == 0
    assert leads_wake_snoozed(today=lead.snoozed_until) == 1
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONTACTED  # the sequence may go on


def test_a_referral_becomes_a_new_lead_for_the_same_rep_and_campaign(
    conversation, alice_account, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("leads.tasks.leads_qualify_task.delay_on_commit", lambda ids: queued.append(ids))
    reply(conversation, alice_account, "referral")
    lead, follow_up, answer, notified = state(conversation)
    referred = Lead.objects.get(first_name="Dana", last_name="Whitfield")
    assert (referred.campaign, referred.owner, referred.company) == (lead.campaign, lead.owner, lead.company)
    assert (referred.source, referred.status) == ("referral", Lead.Status.NEW)
    assert referred.insight.startswith(f"Referred by {lead.full_name}")
    assert queued == [[referred.pk]]  # qualification runs like for any found lead
    assert lead.status == Lead.Status.REPLIED
    assert answer is not None and "Dana Whitfield" in answer.body
    assert len(notified) == 1


def test_a_second_referral_to_the_same_person_adds_no_duplicate(conversation, alice_account, monkeypatch):
    monkeypatch.setattr("leads.tasks.leads_qualify_task.delay_on_commit", lambda ids: None)
    sent, _ = conversation
    LeadFactory(first_name="Dana", last_name="Whitfield", company=sent.lead.company)
    reply(conversation, alice_account, "referral")
    assert Lead.objects.filter(first_name="Dana", last_name="Whitfield").count() == 1


@pytest.mark.parametrize("day", range(7), ids=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
def test_out_of_office_pauses_until_they_are_back_and_keeps_the_follow_up(
    conversation, alice_account, time_machine, day
):
    time_machine.move_to(dt.datetime(2026, 12, 7 + day, 9, tzinfo=dt.UTC), tick=False)
    inbound = reply(conversation, alice_account, "out_of_office")
    lead, follow_up, answer, notified = state(conversation)
    assert lead.status == Lead.Status.SNOOZED
    assert lead.snoozed_until == inbound.snooze_until
    received_on = inbound.received_at.astimezone(dates.zone(lead.timezone, alice_account.timezone)).date()
    assert lead.snoozed_until == received_on + dt.timedelta(days=7 - received_on.weekday())  # "until Monday"
    assert inbound.analysis["snooze_source"] == "read from “until Monday”"
    # The follow-up the auto-reply stopped is back in the queue, for a person to approve again.
    assert (follow_up.status, follow_up.decided_by, follow_up.last_error) == (Status.PENDING_APPROVAL, None, "")
    assert (answer, notified) == (None, [])
    leads_wake_snoozed(today=lead.snoozed_until)
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONTACTED


def test_unsubscribe_is_absolute(conversation, alice_account):
    reply(conversation, alice_account, "unsubscribe")
    lead, follow_up, answer, notified = state(conversation)
    assert lead.status == Lead.Status.DO_NOT_CONTACT
    assert is_suppressed(lead)
    assert Suppression.objects.get().reason == Suppression.Reason.OBJECTION
    assert (follow_up.status, answer, notified) == (Status.CANCELLED, None, [])


def test_an_unclear_reply_goes_to_the_owner_with_a_question_back(conversation, alice_account):
    reply(conversation, alice_account, "unclear")
    lead, follow_up, answer, notified = state(conversation)
    assert (lead.status, follow_up.status) == (Lead.Status.REPLIED, Status.CANCELLED)
    assert answer.status == Status.PENDING_APPROVAL
    assert len(notified) == 1


def test_a_linkedin_reply_is_matched_by_its_chat(conversation, alice_account):
    sent, _ = conversation
    OutreachMessage.objects.filter(pk=sent.pk).update(chat_id="chat-42")
    item = InboundItem(
        provider_id="unipile:m-1", sender_provider_id="someone-else", text="Sure", received_at=timezone.now(),
        chat_id="chat-42",
    )  # fmt: skip
    assert inbound_record(account=alice_account, item=item)
    assert InboundMessage.objects.get().in_reply_to == sent


def test_an_email_reply_from_a_known_address_is_matched_without_headers(conversation, alice_account):
    sent, _ = conversation
    Lead.objects.filter(pk=sent.lead_id).update(email="lena@finbank.example")
    item = InboundItem(
        provider_id="email:<x@finbank.example>", sender_provider_id="", sender_email="Lena@Finbank.example",
        text="Yes", received_at=timezone.now(),
    )  # fmt: skip
    assert inbound_record(account=alice_account, item=item)
    assert InboundMessage.objects.get().lead == sent.lead


def test_a_reply_key_that_is_not_ours_does_not_crash(conversation, alice_account):
    item = InboundItem(
        provider_id="email:<y@x>", sender_provider_id="", text="Hi", received_at=timezone.now(),
        in_reply_to_key="not-a-uuid",
    )  # fmt: skip
    assert inbound_record(account=alice_account, item=item) is False
