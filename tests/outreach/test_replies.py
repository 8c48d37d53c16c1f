import datetime as dt
from dataclasses import replace

import pytest
from django.utils import timezone

from approvals.services import message_approve
from leads.models import Activity, Lead
from outreach import optout
from outreach.channels.base import InboundItem
from outreach.models import InboundMessage, OutreachMessage
from outreach.replies import inbound_analyse, inbound_confirm, inbound_record, outreach_poll_replies
from outreach.sending import outreach_send_next
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(campaign, alice, alice_account, settings):
    settings.SANDBOX_REPLY_RATE = 1.0
    settings.SANDBOX_REPLY_DELAY_SECONDS = 0
    lead = LeadFactory(campaign=campaign, owner=alice)
    message = message_approve(
        message=MessageFactory(lead=lead, campaign=campaign, account=alice_account), actor=alice, revision=1
    )
    assert outreach_send_next(account_id=alice_account.pk) == "sent"
    message.refresh_from_db()
    return message


def _reply(message, text: str, provider_id: str = "p-1") -> InboundItem:
    return InboundItem(
        provider_id=provider_id,
        sender_provider_id=message.lead.provider_id,
        text=text,
        received_at=timezone.now(),
        in_reply_to_key=str(message.idempotency_key),
    )


def test_polling_stores_each_reply_once(sent, alice_account):
    assert outreach_poll_replies(account_id=alice_account.pk) == 1
    assert outreach_poll_replies(account_id=alice_account.pk) == 0  # overlapping window, deduped
    reply = InboundMessage.objects.get()
    assert reply.lead == sent.lead
    assert reply.in_reply_to == sent
    assert Activity.objects.filter(verb="reply.received", lead=sent.lead).count() == 1
    # The sandbox's reply varies with the message's key; an opt-out or a no acts at once.
    verdict = optout.read(reply.text)
    expected = {"unsubscribe": Lead.Status.DO_NOT_CONTACT, "not_interested": Lead.Status.LOST}
    assert Lead.objects.get(pk=sent.lead_id).status == (expected[verdict.intent] if verdict else Lead.Status.REPLIED)


def test_a_reply_cancels_the_pending_follow_up(sent, alice_account, campaign):
    follow_up = MessageFactory(lead=sent.lead, campaign=campaign, account=alice_account, step=2)
    inbound_record(account=alice_account, item=_reply(sent, "Thanks!"))
    follow_up.refresh_from_db()
    assert follow_up.status == OutreachMessage.Status.CANCELLED
    assert follow_up.last_error.startswith("The lead replied")


def test_an_unsubscribe_makes_the_lead_do_not_contact(sent, alice_account):
    inbound_record(account=alice_account, item=_reply(sent, "Please remove me from your list."))
    # The opt-out floor acts as the reply is stored: the analysis has nothing left to do.
    assert inbound_analyse(inbound_id=InboundMessage.objects.get().pk) is None
    assert InboundMessage.objects.get().intent == "unsubscribe"
    assert Lead.objects.get(pk=sent.lead_id).status == Lead.Status.DO_NOT_CONTACT
    assert Activity.objects.filter(verb="lead.do_not_contact", lead=sent.lead).exists()


def test_not_now_snoozes_the_lead_to_the_named_month(sent, alice_account):
    inbound_record(account=alice_account, item=_reply(sent, "Not now, try again in March."))
    inbound_analyse(inbound_id=InboundMessage.objects.get().pk)
    lead = Lead.objects.get(pk=sent.lead_id)
    assert lead.status == Lead.Status.SNOOZED
    assert (lead.snoozed_until.month, lead.snoozed_until.day) == (3, 1)
    assert lead.snoozed_until > dt.date.today()


def test_interest_is_marked_positive(sent, alice, alice_account):
    inbound_record(account=alice_account, item=_reply(sent, "Sounds good, happy to chat next week."))
    reply = inbound_analyse(inbound_id=InboundMessage.objects.get().pk)
    assert reply.needs_look  # the template's reading of one word waits for the rep
    assert Lead.objects.get(pk=sent.lead_id).status == Lead.Status.REPLIED
    inbound_confirm(inbound=reply, actor=alice, intent="interested")
    assert Lead.objects.get(pk=sent.lead_id).status == Lead.Status.INTERESTED
    assert Activity.objects.filter(verb="reply.positive", lead=sent.lead).count() == 1


def test_analysis_runs_once(sent, alice_account):
    inbound_record(account=alice_account, item=_reply(sent, "Sounds good"))
    pk = InboundMessage.objects.get().pk
    assert inbound_analyse(inbound_id=pk) is not None
    assert inbound_analyse(inbound_id=pk) is None
    assert Activity.objects.filter(verb="reply.analysed").count() == 1


def test_a_reply_from_nobody_we_know_is_ignored(sent, alice_account):
    stranger = InboundItem(provider_id="x", sender_provider_id="unknown", text="hi", received_at=timezone.now())
    assert inbound_record(account=alice_account, item=stranger) is False
    assert not InboundMessage.objects.exists()


def test_a_model_reads_a_referral_and_a_date(sent, alice_account, llm):
    from tests.fakes.openai_server import json_reply

    llm.queue(
        json_reply(
            {
                "sentiment": "neutral",
                "intent": "not_now",
                "key_facts": ["Budget frozen until Q2", "Suggests Priya Shah"],
                "confidence": 0.85,
                "snooze_until": "2027-04-01",
                "referral_name": "",
                "suggested_reply": "",
            }
        )
    )
    # Received on a known day: the model's date must fall within a year of it.
    received_at = dt.datetime(2026, 12, 5, 9, tzinfo=dt.UTC)
    item = replace(_reply(sent, "Budgets are frozen until April. Try me then."), received_at=received_at)
    inbound_record(account=alice_account, item=item)
    reply = inbound_analyse(inbound_id=InboundMessage.objects.get().pk)
    assert (reply.intent, reply.sentiment, str(reply.snooze_until)) == ("not_now", "neutral", "2027-04-01")
    assert reply.analysis["key_facts"] == ["Budget frozen until Q2", "Suggests Priya Shah"]
    assert reply.analysis["generated_by"] == "gpt-4o-mini"
    lead = Lead.objects.get(pk=sent.lead_id)
    assert (lead.status, str(lead.snoozed_until)) == (Lead.Status.SNOOZED, "2027-04-01")
    prompt = llm.last_request["json"]["messages"]
    assert "Budgets are frozen until April" in prompt[1]["content"]
    assert "the reply was received on Saturday 2026-12-05" in prompt[0]["content"]
    assert reply.analysis["snooze_source"] == "read from “until April”"  # the model and the text agree
    assert reply.analysis["snooze_note"] == ""


def test_an_invalid_intent_is_repaired_then_falls_back(sent, alice_account, llm):
    from tests.fakes.openai_server import json_reply

    bad = {
        "sentiment": "meh",
        "intent": "maybe",
        "key_facts": [],
        "confidence": 2,
        "snooze_until": None,
        "referral_name": "",
        "suggested_reply": "",
    }
    llm.queue(json_reply(bad), json_reply(bad))
    inbound_record(account=alice_account, item=_reply(sent, "I am out of office until Monday."))
    reply = inbound_analyse(inbound_id=InboundMessage.objects.get().pk)
    assert llm.count == 2  # one repair round
    assert reply.intent == "out_of_office"  # then the template's rules read it
    assert reply.analysis["generated_by"] == "template"
    assert Lead.objects.get(pk=sent.lead_id).status == Lead.Status.SNOOZED
