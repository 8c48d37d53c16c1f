"""The voice of a draft: the team's default, a campaign's own voice and banned phrases, a rep's signature.

Through the real openai client against the fake model server, and through the offline template.
"""

import re

import pytest

from approvals.services import DecisionError, message_approve
from outreach.models import OutreachMessage
from outreach.services import messages_draft
from salesdept.models import PromptOverride, RepSignature
from tests.factories import CampaignFactory, LeadFactory
from tests.fakes.openai_server import json_reply
from tests.outreach.test_drafting import Model, data_blocks

pytestmark = pytest.mark.django_db


class SigningModel(Model):
    """A good model that also signs the way the prompt tells it to."""

    def __call__(self, body: dict):
        answer = super().__call__(body)
        user = body["messages"][-1]["content"]
        if "Prospect:" not in user or not (sign := re.search(r"^Sign off as: (.+)$", user, re.M)):
            return answer
        draft = data_blocks(user)["Prospect"]
        text = f"Hi {draft['first_name']}, your work as {draft['position']} caught my eye. Open to connect?"
        return json_reply(
            {
                "greeting_name": draft["first_name"],
                "subject": "",
                "body": f"{text}\nBest,\n{sign[1]}",
                "facts_used": [draft["position"]],
            }
        )


def draft_prompt(llm) -> str:
    """The latest draft prompt the model was sent."""
    prompts = [r["json"]["messages"][1]["content"] for r in llm.requests]
    return [prompt for prompt in prompts if "Sign off as:" in prompt][-1]


@pytest.fixture
def lead(campaign, alice):
    return LeadFactory(campaign=campaign, owner=alice, first_name="Lena", position="CFO", status="qualified")


@pytest.fixture
def team():
    return PromptOverride.objects.create(
        name="draft", brand_voice="Plain and kind", banned_phrases=["synergies"], signature="The Summit team"
    )


def test_it_drafts_in_the_campaigns_voice_with_the_reps_signature(llm, campaign, lead, alice, team):
    campaign.brand_voice, campaign.banned_phrases = "Bold, short sentences, no jargon", ["circle back"]
    campaign.save(update_fields=["brand_voice", "banned_phrases"])
    RepSignature.objects.create(user=alice, text="Alice R., Summit partnerships")
    llm.default = Model()
    messages_draft(lead_ids=[lead.pk])
    prompt = draft_prompt(llm)
    assert "Brand voice: Bold, short sentences, no jargon" in prompt
    assert "Plain and kind" not in prompt  # the campaign's voice replaces the team's
    assert "Never write: synergies; circle back." in prompt  # its banned phrases add to the team's
    assert "Sign off as: Alice R., Summit partnerships" in prompt


def test_blank_settings_fall_back_to_the_team_then_the_reps_name(llm, campaign, alice, team):
    first = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", status="qualified")
    llm.default = Model()
    messages_draft(lead_ids=[first.pk])
    prompt = draft_prompt(llm)
    assert "Brand voice: Plain and kind" in prompt and "Sign off as: The Summit team" in prompt
    team.delete()
    second = LeadFactory(campaign=campaign, owner=alice, first_name="Omar", status="qualified")
    messages_draft(lead_ids=[second.pk])
    prompt = draft_prompt(llm)
    assert "Sign off as: Alice Rivera" in prompt and "Brand voice" not in prompt


def test_each_rep_signs_their_own_leads_drafts(llm, campaign, alice, dan):
    RepSignature.objects.create(user=alice, text="Alice from Summit")
    RepSignature.objects.create(user=dan, text="Dan from Summit")
    leads = [
        LeadFactory(campaign=campaign, owner=alice, first_name="Lena", status="qualified"),
        LeadFactory(campaign=campaign, owner=dan, first_name="Omar", status="qualified"),
    ]
    llm.default = SigningModel()
    lena, omar = messages_draft(lead_ids=[lead.pk for lead in leads])
    assert lena.body.endswith("Best,\nAlice from Summit") and omar.body.endswith("Best,\nDan from Summit")
    assert not lena.blocked and not omar.blocked


def test_a_signature_without_the_reps_name_is_not_a_wrong_sign_off(llm, lead, alice):
    RepSignature.objects.create(user=alice, text="Team Summit Events")
    llm.default = SigningModel()
    [message] = messages_draft(lead_ids=[lead.pk])
    assert message.body.endswith("Best,\nTeam Summit Events")
    assert "sign_off" not in {f["code"] for f in message.guardrail_findings}
    assert not message.blocked


def test_the_template_signs_with_the_reps_signature(lead, alice, settings):
    settings.OPENAI_API_KEY = ""
    RepSignature.objects.create(user=alice, text="Alice · Summit crew")
    [message] = messages_draft(lead_ids=[lead.pk])
    assert message.generated_by == "template"
    assert message.body.rstrip().endswith("Alice · Summit crew")
    assert "Alice Rivera" not in message.body


def test_the_template_falls_back_to_the_reps_name(lead, settings):
    settings.OPENAI_API_KEY = ""
    [message] = messages_draft(lead_ids=[lead.pk])
    assert message.body.rstrip().endswith("Alice Rivera")


# Banned phrases: a warning beside the fresh draft, a refusal at approval until it is taken out.


def test_a_campaigns_banned_phrase_blocks_approval_of_its_drafts(llm, campaign, lead, alice):
    campaign.banned_phrases = ["stood out"]  # the fake model writes "... stood out."
    campaign.save(update_fields=["banned_phrases"])
    llm.default = Model()
    [message] = messages_draft(lead_ids=[lead.pk])
    assert {
        "code": "banned_phrase",
        "message": "Contains 'stood out', a phrase your team banned: take it out before approving.",
        "blocking": False,
    } in message.guardrail_findings
    with pytest.raises(DecisionError, match="'stood out', a phrase your team banned"):
        message_approve(message=message, actor=alice, revision=message.revision)
    assert OutreachMessage.objects.get(pk=message.pk).status == OutreachMessage.Status.PENDING_APPROVAL
    edited = message.body.replace(" stood out", " is impressive")
    approved = message_approve(message=message, actor=alice, revision=message.revision, body=edited)
    assert approved.status == OutreachMessage.Status.APPROVED


def test_a_campaigns_banned_phrase_does_not_touch_another_campaign(llm, campaign, alice, alice_account):
    campaign.banned_phrases = ["stood out"]
    campaign.save(update_fields=["banned_phrases"])
    other = CampaignFactory(owner=campaign.owner, accounts=[alice_account])
    lead = LeadFactory(campaign=other, owner=alice, first_name="Omar", status="qualified")
    llm.default = Model()
    [message] = messages_draft(lead_ids=[lead.pk])
    assert "banned_phrase" not in {f["code"] for f in message.guardrail_findings}
    assert message_approve(message=message, actor=alice, revision=message.revision).status == "approved"


def test_a_team_banned_phrase_blocks_approval_too(llm, lead, alice):
    PromptOverride.objects.create(name="draft", banned_phrases=["Open to connect"])
    llm.default = Model()
    [message] = messages_draft(lead_ids=[lead.pk])
    with pytest.raises(DecisionError, match="'Open to connect', a phrase your team banned"):
        message_approve(message=message, actor=alice, revision=message.revision)


def test_a_suggested_answer_to_a_reply_signs_with_the_reps_signature(campaign, alice, alice_account, settings):
    from django.utils import timezone

    from outreach.channels.base import InboundItem
    from outreach.models import InboundMessage
    from outreach.replies import inbound_analyse, inbound_record
    from tests.factories import MessageFactory

    settings.OPENAI_API_KEY = ""
    settings.LLM_REVIEW_BELOW_CONFIDENCE = 0.5
    RepSignature.objects.create(user=alice, text="Alice, Summit partnerships")
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", status="contacted")
    sent = MessageFactory(
        lead=lead, campaign=campaign, account=alice_account, kind="message", status="sent", sent_at=timezone.now()
    )
    item = InboundItem(
        provider_id="p-1",
        sender_provider_id=lead.provider_id,
        text="Sounds good, happy to chat next week.",
        received_at=timezone.now(),
        in_reply_to_key=str(sent.idempotency_key),
    )
    inbound_record(account=alice_account, item=item)
    inbound_analyse(inbound_id=InboundMessage.objects.get(provider_id="p-1").pk)
    answer = OutreachMessage.objects.get(reply_to__isnull=False)
    assert answer.body.endswith("Best,\nAlice, Summit partnerships")
    assert not answer.blocked
