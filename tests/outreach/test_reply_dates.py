"""The date a reply puts a lead to sleep until: read where they are, checked when a model gives it."""

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import Activity, Lead
from outreach.channels.base import InboundItem
from outreach.models import InboundMessage, OutreachMessage
from outreach.replies import inbound_analyse, inbound_record
from tests.factories import LeadFactory, MessageFactory
from tests.fakes.openai_server import json_reply

pytestmark = pytest.mark.django_db
SATURDAY = dt.datetime(2026, 12, 5, 9, tzinfo=dt.UTC)


@pytest.fixture
def sent(campaign, alice, alice_account) -> OutreachMessage:
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", status=Lead.Status.CONTACTED, timezone="")
    return MessageFactory(
        lead=lead,
        campaign=campaign,
        account=alice_account,
        status=OutreachMessage.Status.SENT,
        sent_at=timezone.now() - dt.timedelta(days=3),
    )


def analysed(message: OutreachMessage, text: str, received_at: dt.datetime = SATURDAY) -> InboundMessage:
    item = InboundItem(
        provider_id="p-1",
        sender_provider_id=message.lead.provider_id,
        text=text,
        received_at=received_at,
        in_reply_to_key=str(message.idempotency_key),
    )
    assert inbound_record(account=message.account, item=item)
    inbound = InboundMessage.objects.get(provider_id="p-1")
    inbound_analyse(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    return inbound


def model_says(intent: str, snooze_until: str | None) -> dict:
    return {
        "sentiment": "neutral",
        "intent": intent,
        "key_facts": [],
        "confidence": 0.9,
        "snooze_until": snooze_until,
        "referral_name": "",
        "suggested_reply": "",
    }


def test_it_refuses_a_models_date_before_the_reply_and_reads_the_reply_instead(llm, sent):
    llm.queue(json_reply(model_says("out_of_office", "2025-12-07")))
    inbound = analysed(sent, "I am out of office until Monday.")
    lead = Lead.objects.get(pk=sent.lead_id)
    assert inbound.snooze_until == lead.snoozed_until == dt.date(2026, 12, 7)
    assert inbound.analysis["snooze_source"] == "read from “until Monday”"
    assert inbound.analysis["snooze_proposed"] == "2025-12-07"
    assert "before the reply was received" in inbound.analysis["snooze_note"]
    away = Activity.objects.get(lead=lead, verb="lead.away")
    assert (away.payload["until"], away.payload["phrase"]) == ("2026-12-07", "until Monday")
    assert "refused" in away.payload["note"]


def test_it_refuses_a_models_date_over_a_year_out_and_falls_back_to_the_default(llm, sent):
    llm.queue(json_reply(model_says("not_now", "2029-01-01")))
    inbound = analysed(sent, "Not now, we are busy.")
    lead = Lead.objects.get(pk=sent.lead_id)
    assert lead.status == Lead.Status.SNOOZED
    assert inbound.snooze_until == lead.snoozed_until == dt.date(2026, 12, 5) + dt.timedelta(days=90)
    assert inbound.analysis["snooze_source"] == "default: no date found in the reply"
    assert "more than a year away" in inbound.analysis["snooze_note"]


def test_it_keeps_a_models_date_that_makes_sense(llm, sent):
    llm.queue(json_reply(model_says("not_now", "2027-02-01")))
    inbound = analysed(sent, "Not now, maybe in February.")
    assert inbound.snooze_until == dt.date(2027, 2, 1)
    assert inbound.analysis["snooze_note"] == ""


def test_it_asks_the_model_with_the_day_the_reply_came_and_the_accounts_date_order(llm, sent, alice_account):
    alice_account.locale = "en-US"
    alice_account.save(update_fields=["locale"])
    llm.queue(json_reply(model_says("out_of_office", None)))
    inbound = analysed(sent, "Returning 3/1.")
    system = llm.last_request["json"]["messages"][0]["content"]
    assert "received on Saturday 2026-12-05" in system and "month first" in system
    assert inbound.snooze_until == dt.date(2027, 3, 1)  # the model gave none: the reply's words did


def test_it_reads_tomorrow_where_the_prospect_is(sent):
    Lead.objects.filter(pk=sent.lead_id).update(timezone="Asia/Tokyo")
    late_sunday_utc = dt.datetime(2026, 12, 6, 20, tzinfo=dt.UTC)  # Monday morning in Tokyo
    inbound = analysed(sent, "Out of office, back tomorrow.", received_at=late_sunday_utc)
    assert inbound.snooze_until == dt.date(2026, 12, 8)


def test_it_reads_in_the_accounts_zone_when_the_prospects_is_unknown(sent, alice_account):
    alice_account.timezone = "Asia/Tokyo"
    alice_account.save(update_fields=["timezone"])
    inbound = analysed(sent, "Out of office, back tomorrow.", received_at=dt.datetime(2026, 12, 6, 20, tzinfo=dt.UTC))
    assert inbound.snooze_until == dt.date(2026, 12, 8)


def test_it_says_when_the_default_applied(sent):
    inbound = analysed(sent, "I am out of office with limited access to email.")
    assert inbound.snooze_until == dt.date(2026, 12, 12)  # a week after the reply, not after today
    assert inbound.analysis["snooze_source"] == "default: no date found in the reply"
    assert inbound.analysis["generated_by"] == "template"


def test_it_reads_a_german_auto_reply_offline(sent):
    inbound = analysed(sent, "Ich bin bis 14. Dezember nicht im Büro.")
    assert (inbound.intent, inbound.snooze_until) == ("out_of_office", dt.date(2026, 12, 14))
    assert inbound.analysis["snooze_phrase"] == "bis 14. Dezember"
