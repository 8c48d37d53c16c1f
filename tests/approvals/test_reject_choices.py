"""After a reject the rep chooses: draft again with the reason, write it themselves, or drop the lead."""

import pytest

from approvals.selectors import queue_for
from approvals.services import message_approve
from campaigns.allocation import campaign_allocate
from leads.models import Activity, Lead
from outreach.models import OutreachMessage
from outreach.services import followups_draft_due, messages_draft, messages_fill
from salesdept import clock
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory
from tests.outreach.test_drafting import Model, data_blocks

pytestmark = pytest.mark.django_db
Status = OutreachMessage.Status
HTMX = {"HTTP_HX_REQUEST": "true"}


def reject(client, message, **data):
    return client.post(f"/approvals/{message.pk}/reject/", {"revision": message.revision, **data}, **HTMX)


def test_it_strands_a_lead_whose_first_step_is_only_rejected(campaign, alice, pending):
    """Why a reject must lead somewhere: a rejected first step blocks every path that would reach the lead."""
    OutreachMessage.objects.filter(pk=pending.pk).update(status=Status.REJECTED, reject_reason="Wrong tone")
    lead = pending.lead
    assert messages_draft(lead_ids=[lead.pk]) == []  # the step's row exists: no second draft
    assert lead.pk not in campaign_allocate(campaign_id=campaign.pk)  # owned: never allocated again
    assert followups_draft_due(now=clock.now()) == []  # nothing was sent: no follow-up either
    assert list(queue_for(alice)) == []
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.QUALIFIED  # and nothing says so


def test_it_offers_the_three_choices_on_the_queue_and_the_draft_page(client, alice, pending):
    login(client, alice)
    for page in (client.get("/approvals/"), client.get(f"/approvals/{pending.pk}/")):
        assert f'action="/approvals/{pending.pk}/reject/"' in page.text
        for value in ("redraft", "write", "drop"):
            assert f'name="then" value="{value}"' in page.text
        assert 'value="redraft" checked' in page.text  # the default leaves nobody stranded


def test_it_drafts_again_with_the_reject_reason_as_the_instruction(client, llm, campaign, alice):
    llm.default = Model()
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", position="CFO")
    [message] = messages_draft(lead_ids=[lead.pk])
    response = reject(login(client, alice), message, reason="shorter", then="redraft")
    assert "drafting again" in response.text
    message.refresh_from_db()
    assert (message.status, message.instruction) == (Status.GENERATING, "shorter")
    [message] = messages_fill(message_ids=[message.pk])
    assert data_blocks(llm.requests[-2]["json"]["messages"][1]["content"])["The rep asks"] == "shorter"
    assert (message.status, message.body) == (Status.PENDING_APPROVAL, "Hi Lena, open to connect?")
    assert Activity.objects.filter(verb="message.rejected", actor=alice, payload__then="redraft").exists()


def test_it_puts_the_reps_own_text_in_the_queue(client, alice, pending):
    text = "Hi Lena, I run the fintech track at the Summit. Would you speak on it?"
    response = reject(login(client, alice), pending, reason="Too generic", then="write", text=text)
    assert "your own text" in response.text
    pending.refresh_from_db()
    assert (pending.status, pending.body, pending.generated_by, pending.revision) == (
        Status.PENDING_APPROVAL,
        text,
        "rep",
        2,
    )
    assert "Written by hand" in client.get(f"/approvals/{pending.pk}/").text
    assert list(queue_for(alice)) == [pending]
    approved = message_approve(message=pending, actor=alice, revision=pending.revision)
    assert (approved.status, approved.body) == (Status.APPROVED, text)


def test_it_keeps_the_reps_text_when_a_guardrail_refuses_it(client, alice, pending):
    text = "Hi Lena, real synergy between us. Speak at the Summit?"
    response = login(client, alice).post(
        f"/approvals/{pending.pk}/reject/",
        {"revision": 1, "reason": "Too generic", "then": "write", "text": text},
    )
    assert response.status_code == 200  # a plain form: the draft's page again, not the queue
    assert "banned phrase &#x27;synergy&#x27;" in response.text
    assert f">{text}</textarea>" in response.text
    pending.refresh_from_db()
    assert (pending.status, pending.revision, pending.generated_by) == (Status.PENDING_APPROVAL, 1, "template")
    assert not Activity.objects.filter(verb="message.rejected").exists()


def test_it_asks_for_the_text_when_the_rep_writes_nothing(client, alice, pending):
    response = reject(login(client, alice), pending, reason="Too generic", then="write", text="  ")
    assert "Write your message in the box" in response.text
    assert OutreachMessage.objects.get(pk=pending.pk).status == Status.PENDING_APPROVAL


def test_it_drops_the_lead_through_the_lifecycle_and_stops_the_sequence(client, campaign, alice, pending):
    lead = pending.lead
    later = MessageFactory(lead=lead, campaign=campaign, step=2, status=Status.APPROVED, account=pending.account)
    response = reject(login(client, alice), pending, reason="Not a buyer", then="drop")
    assert "dropped from the campaign" in response.text
    pending.refresh_from_db()
    later.refresh_from_db()
    lead.refresh_from_db()
    assert (pending.status, pending.reject_reason) == (Status.REJECTED, "Not a buyer")
    assert later.status == Status.CANCELLED
    assert lead.status == Lead.Status.DISQUALIFIED
    move = Activity.objects.get(lead=lead, verb="lead.disqualified")
    assert (move.actor, move.payload["trigger"], move.payload["reason"]) == (alice, "rep_drops", "Not a buyer")
    assert messages_draft(lead_ids=[lead.pk], step=1) == []
    Lead.objects.filter(pk=lead.pk).update(owner=None)  # even unowned, a dropped lead is not given out again
    assert lead.pk not in campaign_allocate(campaign_id=campaign.pk)


def test_it_refuses_to_drop_a_lead_in_a_conversation(client, alice, pending):
    Lead.objects.filter(pk=pending.lead_id).update(status=Lead.Status.INTERESTED)
    response = reject(login(client, alice), pending, reason="Not a buyer", then="drop")
    assert "close the lead on its page" in response.text
    pending.refresh_from_db()
    assert pending.status == Status.PENDING_APPROVAL  # nothing half-done
    assert Lead.objects.get(pk=pending.lead_id).status == Lead.Status.INTERESTED


def test_it_rejects_a_suggested_answer_alone_by_default(client, alice, pending):
    from outreach.models import InboundMessage

    reply = InboundMessage.objects.create(
        lead=pending.lead, account=pending.account, provider_id="in-1", text="Tell me more", received_at=clock.now()
    )
    answer = MessageFactory(lead=pending.lead, campaign=pending.campaign, step=1, reply_to=reply)
    page = client.get(f"/approvals/{answer.pk}/") if login(client, alice) else None
    assert 'name="then" value="redraft"' not in page.text
    reject(client, answer, reason="I will call instead")
    answer.refresh_from_db()
    assert answer.status == Status.REJECTED


def test_it_keeps_the_reps_text_when_the_reason_is_missing(client, alice, pending):
    text = "Hi Lena, would you speak at the Summit?"
    response = login(client, alice).post(
        f"/approvals/{pending.pk}/reject/", {"revision": 1, "reason": "", "then": "write", "text": text}
    )
    assert response.status_code == 200
    assert "Say why you reject this draft" in response.text
    assert f">{text}</textarea>" in response.text
