"""What reaches a prospect comes from the brief's prospect-facing fields only.

A campaign's name, its targeting, the rep's request it came from and its internal notes are for
the team: they never enter a drafting or answering prompt, the offline template never writes
them, and a draft or answer that repeats them (a model echoing, a rep pasting) is blocked.
"""

import json

import pytest
from django.utils import timezone

from approvals.services import DecisionError, message_approve
from campaigns.briefs import campaign_brief
from campaigns.models import CampaignRequest, SequenceStep
from leads.models import Lead
from leads.services import lead_facts
from outreach.channels.base import InboundItem
from outreach.models import InboundMessage, OutreachMessage
from outreach.replies import inbound_analyse, inbound_confirm, inbound_record
from outreach.services import messages_draft
from salesdept.llm import template
from salesdept.llm.prompts import PROMPTS
from tests.factories import CampaignFactory, LeadFactory, MessageFactory
from tests.fakes.openai_server import json_reply

pytestmark = pytest.mark.django_db

NAME = "CFOs in Fintech, London"
REQUEST = "Target 50 CFOs and finance directors in fintech in London and Manchester for the summit, sponsors mainly"
NOTES = "Budget holders only; skip anyone we met at Money20/20 last spring"
SPEAKER_ANGLE = "a talk on our main stage, in front of 400 finance leaders"
SPONSOR_ANGLE = "a stand where the buyers you want to meet walk past all day"
LABELS = [
    {"name": "Speaker", "description": "Could speak", "angle": SPEAKER_ANGLE},
    {"name": "Sponsor", "description": "Could sponsor", "angle": SPONSOR_ANGLE},
    {"name": "Other", "description": "No clear role yet"},
]
INTERNAL = (NAME, REQUEST, NOTES, "Manchester", "sponsors mainly", "finance directors in fintech")


@pytest.fixture
def offline(settings):
    settings.OPENAI_API_KEY = ""  # the offline template writes


@pytest.fixture
def bare(bob, alice_account):
    """A campaign read from a rep's request, before anyone wrote an event or an offer."""
    campaign = CampaignFactory(
        owner=bob,
        name=NAME,
        event="",
        offer="",
        call_to_action="",
        labels=LABELS,
        internal_notes=NOTES,
        accounts=[alice_account],
        steps=[SequenceStep.Kind.MESSAGE],
    )
    campaign.target.titles, campaign.target.locations = ["CFO", "Finance Director"], ["London", "Manchester"]
    campaign.target.save(update_fields=["titles", "locations"])
    CampaignRequest.objects.create(requested_by=alice_account.owner, text=REQUEST, status="approved", campaign=campaign)
    return campaign


@pytest.fixture
def summit(bare):
    bare.event, bare.offer = "the Fintech Summit", "Two days of talks and meetings for finance teams."
    bare.call_to_action = "Shall I send you the programme?"
    bare.save(update_fields=["event", "offer", "call_to_action"])
    return bare


def lead_in(campaign, *, label="Speaker", **fields) -> Lead:
    owner = campaign.sending_accounts.get().owner
    return LeadFactory(campaign=campaign, owner=owner, label=label, **{"status": "qualified", **fields})


def text_of(message: OutreachMessage) -> str:
    return f"{message.subject}\n{message.body}"


def assert_nothing_internal(text: str) -> None:
    for internal in INTERNAL:
        assert internal.lower() not in text.lower(), f"{internal!r} reached a prospect-facing text"


def blocking_codes(message: OutreachMessage) -> set[str]:
    return {finding["code"] for finding in message.guardrail_findings if finding["blocking"]}


# The offline template --------------------------------------------------------------------------------


def test_it_writes_a_plain_question_not_the_internal_name_when_the_brief_has_no_event_or_offer(offline, bare):
    leads = [lead_in(bare, label="Other", position="CFO") for _ in range(4)]
    drafts = messages_draft(lead_ids=[lead.pk for lead in leads])
    assert len(drafts) == 4
    for message in drafts:
        assert_nothing_internal(text_of(message))
        assert "reaching out about" not in message.body  # no topic is made up
        assert "?" in message.body  # it asks the prospect instead
        assert message.generated_by == "template" and not message.blocked


def test_it_writes_from_the_briefs_event_offer_and_call_to_action(offline, summit):
    summit.value_points, summit.proof = ["A free pass for a colleague"], "Last year 350 finance leaders came."
    summit.save(update_fields=["value_points", "proof"])
    [message] = messages_draft(lead_ids=[lead_in(summit).pk])
    for fact in ("the Fintech Summit", summit.offer, "Shall I send you the programme?", "A free pass", "350"):
        assert fact in message.body
    assert_nothing_internal(text_of(message))
    assert message.guardrail_findings == []


def test_it_varies_the_wording_across_leads_and_keeps_it_for_a_lead(offline, summit):
    leads = [lead_in(summit, first_name="Sam", company=None, position="CFO") for _ in range(6)]
    bodies = [message.body for message in messages_draft(lead_ids=[lead.pk for lead in leads])]
    assert len(set(bodies)) >= 3  # the same facts, not the same message six times
    brief = campaign_brief(campaign=summit, sender_name="Alice Rivera", label="Speaker")
    again = template.draft(lead=lead_facts(leads[0]), brief=brief, kind="message", step=1, seed=leads[0].pk)
    assert again.body == bodies[0]


def test_the_leads_label_steers_the_template_drafts_angle(offline, summit):
    speaker, sponsor = lead_in(summit, label="Speaker"), lead_in(summit, label="Sponsor")
    drafts = {m.lead_id: m.body for m in messages_draft(lead_ids=[speaker.pk, sponsor.pk])}
    assert SPEAKER_ANGLE in drafts[speaker.pk] and SPONSOR_ANGLE not in drafts[speaker.pk]
    assert SPONSOR_ANGLE in drafts[sponsor.pk] and SPEAKER_ANGLE not in drafts[sponsor.pk]


# The model path ---------------------------------------------------------------------------------------


def echo(body: dict):
    """A model that writes its whole prompt back as the message, as small models sometimes do."""
    prompt = "\n".join(message["content"] for message in body["messages"])
    if body["messages"][0]["content"] == PROMPTS["fact_check"].system:
        return json_reply({"unsupported_claims": []})
    first = json.loads(prompt.split("Prospect:\n<data>")[1].split("</data>")[0])["first_name"]
    return json_reply({"greeting_name": first, "subject": "", "body": f"Hi {first}, {prompt}", "facts_used": []})


def test_no_internal_text_enters_the_drafting_prompt_and_so_none_can_be_echoed(llm, summit):
    llm.default = echo
    speaker, sponsor = lead_in(summit, label="Speaker"), lead_in(summit, label="Sponsor")
    drafts = {m.lead_id: m for m in messages_draft(lead_ids=[speaker.pk, sponsor.pk])}
    for request in llm.requests:
        assert_nothing_internal(json.dumps(request["json"], ensure_ascii=False))
    for message in drafts.values():
        assert_nothing_internal(text_of(message))
        assert not blocking_codes(message) & {"internal_name", "internal_request", "internal_notes"}
    # the prompt carries the lead's label's angle, and only that one
    assert SPEAKER_ANGLE in drafts[speaker.pk].body and SPONSOR_ANGLE not in drafts[speaker.pk].body
    assert SPONSOR_ANGLE in drafts[sponsor.pk].body and SPEAKER_ANGLE not in drafts[sponsor.pk].body


@pytest.mark.parametrize(
    ("leak", "code"),
    [
        (f"I'm reaching out about {NAME}.", "internal_name"),
        ("We target CFOs and finance directors in fintech in London and Manchester.", "internal_request"),
        ("Budget holders only; skip anyone we met at Money20/20 last spring.", "internal_notes"),
        ("We are looking for a CFO or Finance Director in Manchester.", "internal_targeting"),
    ],
    ids=["name", "request", "notes", "targeting"],
)
def test_a_model_draft_that_repeats_internal_text_is_kept_out_of_the_queue(llm, summit, leak, code):
    lead = lead_in(summit, first_name="Lena", position="Head of Treasury", location="Paris")
    draft = {"greeting_name": "Lena", "subject": "", "body": f"Hi Lena, {leak} Open to a chat?", "facts_used": []}
    llm.queue(json_reply(draft), json_reply({"unsupported_claims": []}))
    [message] = messages_draft(lead_ids=[lead.pk])
    assert message.blocked and code in blocking_codes(message)


def test_text_the_brief_gives_prospects_is_not_internal_even_if_the_request_said_it_too(llm, summit):
    summit.offer = "Target 50 CFOs and finance directors in fintech in London and Manchester: that is our audience."
    summit.save(update_fields=["offer"])
    lead = lead_in(summit, first_name="Lena", position="CFO", location="London")
    body = f"Hi Lena, as CFO in London you may like this. {summit.offer} Open to a chat?"
    llm.queue(json_reply({"greeting_name": "Lena", "subject": "", "body": body, "facts_used": []}))
    llm.queue(json_reply({"unsupported_claims": []}))
    [message] = messages_draft(lead_ids=[lead.pk])
    assert not message.blocked, message.guardrail_findings


def test_a_rep_cannot_approve_an_edit_that_pastes_the_campaign_name(summit, alice):
    lead = lead_in(summit, first_name="Lena")
    pending = MessageFactory(lead=lead, campaign=summit, account=summit.sending_accounts.get())
    with pytest.raises(DecisionError, match="internal name"):
        message_approve(message=pending, actor=alice, revision=1, body=f"Hi Lena, a note about {NAME}.")
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.PENDING_APPROVAL


# Answers to replies -----------------------------------------------------------------------------------


def replied(campaign, text: str) -> OutreachMessage:
    lead = lead_in(campaign, first_name="Lena", status=Lead.Status.CONTACTED)
    sent = MessageFactory(
        lead=lead,
        campaign=campaign,
        account=campaign.sending_accounts.get(),
        kind=OutreachMessage.Kind.MESSAGE,
        status=OutreachMessage.Status.SENT,
        sent_at=timezone.now(),
    )
    inbound_record(
        account=sent.account,
        item=InboundItem(
            provider_id="p-1",
            sender_provider_id=lead.provider_id,
            text=text,
            received_at=timezone.now(),
            in_reply_to_key=str(sent.idempotency_key),
        ),
    )
    inbound_analyse(inbound_id=InboundMessage.objects.get(provider_id="p-1").pk)
    inbound = InboundMessage.objects.get(provider_id="p-1")
    if inbound.needs_look:  # the offline reader is unsure of a question: the rep confirms it, as in the inbox
        inbound_confirm(inbound=inbound, actor=lead.owner, intent=inbound.intent)
    return OutreachMessage.objects.get(reply_to__isnull=False)


PRICING = "Could you send me more details about the pricing?"


def test_the_template_answers_the_pricing_question_from_the_faq(offline, summit):
    summit.faq = [
        {"question": "When is it?", "answer": "3 and 4 June."},
        {"question": "How much does it cost?", "answer": "Speaking is free; stands start at £4,500."},
    ]
    summit.save(update_fields=["faq"])
    answer = replied(summit, PRICING)
    assert "Speaking is free; stands start at £4,500." in answer.body
    assert "3 and 4 June" not in answer.body  # only what was asked
    assert_nothing_internal(answer.body)
    assert not answer.blocked


def test_without_an_faq_answer_the_template_offers_to_send_the_details(offline, bare):
    answer = replied(bare, PRICING)
    assert "I'd be glad to send you the pricing." in answer.body
    assert "£" not in answer.body and "In short" not in answer.body
    assert_nothing_internal(answer.body)
    assert not answer.blocked


def test_the_faq_reaches_the_answering_prompt_and_the_request_does_not(llm, summit):
    summit.faq = [{"question": "How much does it cost?", "answer": "Stands start at £4,500."}]
    summit.save(update_fields=["faq"])
    analysis = {
        "sentiment": "positive",
        "intent": "requesting_info",
        "key_facts": [],
        "confidence": 0.9,
        "snooze_until": None,
        "referral_name": "",
        "suggested_reply": "Hi Lena,\n\nStands start at £4,500.\n\nBest,\nAlice Rivera",
    }
    llm.queue(json_reply(analysis))
    llm.queue(json_reply({"unsupported_claims": []}))  # the answer's fact check
    answer = replied(summit, PRICING)
    prompt = json.dumps(llm.last_request["json"], ensure_ascii=False)
    assert "Stands start at £4,500." in prompt and "faq" in prompt
    assert_nothing_internal(prompt)
    assert not answer.blocked


def test_a_model_answer_that_pastes_the_request_is_blocked(llm, bare):
    analysis = {
        "sentiment": "positive",
        "intent": "requesting_info",
        "key_facts": [],
        "confidence": 0.9,
        "snooze_until": None,
        "referral_name": "",
        "suggested_reply": f"Hi Lena,\n\nThank you for asking. In short: {REQUEST}\n\nBest,\nAlice Rivera",
    }
    llm.queue(json_reply(analysis))
    answer = replied(bare, PRICING)
    assert answer.blocked and "internal_request" in blocking_codes(answer)
