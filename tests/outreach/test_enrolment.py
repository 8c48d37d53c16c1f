"""Two campaigns share a person: both run their sequence, one contact budget spaces the touches,
and a reply to either stops both."""

import datetime as dt

import pytest

from approvals.services import message_approve
from campaigns.allocation import campaign_allocate
from leads.models import Enrolment, Lead
from leads.services import leads_find, leads_qualify
from outreach.channels.base import InboundItem
from outreach.models import OutreachMessage
from outreach.replies import inbound_record
from outreach.sending import outreach_send_next
from outreach.services import followups_draft_due, messages_draft
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
Status, Kind = OutreachMessage.Status, OutreachMessage.Kind
# A Wednesday morning; every later instant is this plus whole hours or days.
START = dt.datetime(2026, 12, 9, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def shared(bob, alice, alice_account, settings, time_machine):
    """Campaigns A and B on the same audience; A's search finds the person, B's finds them again."""
    time_machine.move_to(START, tick=False)
    settings.CONTACT_MIN_GAP_DAYS = 3
    settings.CONTACT_WINDOW_DAYS = 7
    settings.CONTACT_MAX_TOUCHES = 2
    settings.SANDBOX_REPLY_RATE = 0.0  # the prospect stays quiet until the test makes them answer
    steps = [Kind.MESSAGE, Kind.MESSAGE]
    first = CampaignFactory(owner=bob, accounts=[alice_account], steps=steps, min_score=0, name="Autumn summit")
    second = CampaignFactory(
        owner=bob, accounts=[alice_account], steps=steps, min_score=0, target=first.target, name="Spring dinner"
    )
    [lead_id] = leads_find(campaign_id=first.pk, limit=1)
    leads_qualify(lead_ids=[lead_id])
    assert leads_find(campaign_id=second.pk, limit=1) != [lead_id]  # known: enrolled, not stored again
    return first, second, Lead.objects.get(pk=lead_id)


def _start(campaign, lead: Lead, alice, *, home: bool) -> OutreachMessage:
    """Allocate the campaign, draft its first step for the person and approve it as alice."""
    assert lead.pk in campaign_allocate(campaign_id=campaign.pk)
    [draft] = messages_draft(lead_ids=[lead.pk], campaign_id=None if home else campaign.pk)
    assert (draft.campaign_id, draft.step) == (campaign.pk, 1)
    return message_approve(message=draft, actor=alice, revision=draft.revision)


def _send_all(account, now) -> list[str]:
    return [outreach_send_next(account_id=account.pk, now=now) for _ in range(3)]


def test_both_campaigns_reach_the_person_within_one_budget_and_a_reply_stops_both(
    shared, alice, alice_account, time_machine
):
    first, second, lead = shared
    assert set(Enrolment.objects.filter(lead=lead).values_list("campaign", "status")) == {
        (first.pk, "active"),
        (second.pk, "active"),
    }
    a1 = _start(first, lead, alice, home=True)
    b1 = _start(second, lead, alice, home=False)

    now = START + dt.timedelta(hours=1)
    time_machine.move_to(now, tick=False)
    assert _send_all(alice_account, now)[:2] == ["sent", "budget"]  # one touch; the other waits, not dropped
    sent, held = sorted((a1, b1), key=lambda m: OutreachMessage.objects.get(pk=m.pk).status != Status.SENT)
    held.refresh_from_db()
    assert held.status == Status.APPROVED
    assert held.not_before == now + dt.timedelta(days=3)

    day_two = now + dt.timedelta(days=1)
    time_machine.move_to(day_two, tick=False)
    assert "sent" not in _send_all(alice_account, day_two)  # still inside the minimum gap

    day_four = now + dt.timedelta(days=3, minutes=1)
    time_machine.move_to(day_four, tick=False)
    assert "sent" in _send_all(alice_account, day_four)
    touches = list(OutreachMessage.objects.filter(lead=lead, status=Status.SENT).order_by("sent_at"))
    assert {m.campaign_id for m in touches} == {first.pk, second.pk}
    assert touches[1].sent_at - touches[0].sent_at >= dt.timedelta(days=3)
    assert set(Enrolment.objects.filter(lead=lead).values_list("step", flat=True)) == {1}

    # Each campaign's second step falls due three days after its first: both are drafted,
    # each from its own campaign's sequence.
    day_seven = day_four + dt.timedelta(days=3)
    time_machine.move_to(day_seven, tick=False)
    assert sorted(followups_draft_due(now=day_seven)) == [lead.pk, lead.pk]
    messages_draft(lead_ids=[lead.pk], step=2)
    messages_draft(lead_ids=[lead.pk], step=2, campaign_id=second.pk)
    follow_ups = OutreachMessage.objects.filter(lead=lead, step=2)
    assert set(follow_ups.values_list("campaign", "status")) == {
        (first.pk, Status.PENDING_APPROVAL),
        (second.pk, Status.PENDING_APPROVAL),
    }

    # The person answers the second campaign's message: both sequences stop.
    replied_to = next(m for m in touches if m.campaign_id == second.pk)
    inbound_record(
        account=alice_account,
        item=InboundItem(
            provider_id="reply-1",
            sender_provider_id=lead.provider_id,
            text="Thanks, happy to hear more about the dinner.",
            received_at=day_seven,
            in_reply_to_key=str(replied_to.idempotency_key),
        ),
    )
    assert set(follow_ups.values_list("status", flat=True)) == {Status.CANCELLED}
    assert set(Enrolment.objects.filter(lead=lead).values_list("status", flat=True)) == {"stopped"}
    later = day_seven + dt.timedelta(days=10)
    time_machine.move_to(later, tick=False)
    assert followups_draft_due(now=later) == []
    assert messages_draft(lead_ids=[lead.pk], step=2, campaign_id=second.pk) == []
    assert Lead.objects.filter(pk=lead.pk).count() == 1  # one person, one lead, one timeline


def test_a_touch_being_sent_counts_against_the_budget(shared, alice, alice_account, time_machine):
    """A second campaign's send does not race a first one still `sending` to the same person."""
    first, second, lead = shared
    a1 = _start(first, lead, alice, home=True)
    b1 = _start(second, lead, alice, home=False)
    now = START + dt.timedelta(hours=1)
    time_machine.move_to(now, tick=False)
    OutreachMessage.objects.filter(pk=a1.pk).update(status=Status.SENDING, sending_started_at=now)

    assert outreach_send_next(account_id=alice_account.pk, now=now) == "budget"

    b1.refresh_from_db()
    assert (b1.status, b1.not_before) == (Status.APPROVED, now + dt.timedelta(days=3))


def test_whichever_campaign_allocates_first_both_start_their_sequence(shared, alice):
    """The campaign that joined allocates the person first: their home campaign still starts its own."""
    first, second, lead = shared
    assert campaign_allocate(campaign_id=second.pk) == [lead.pk]
    assert [m.campaign_id for m in messages_draft(lead_ids=[lead.pk], campaign_id=second.pk)] == [second.pk]
    assert Lead.objects.get(pk=lead.pk).owner == alice

    assert campaign_allocate(campaign_id=first.pk) == [lead.pk]
    assert [m.campaign_id for m in messages_draft(lead_ids=[lead.pk], campaign_id=first.pk)] == [first.pk]
    assert campaign_allocate(campaign_id=first.pk) == []  # started: nothing more to give
    assert campaign_allocate(campaign_id=second.pk) == []
