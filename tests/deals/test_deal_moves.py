"""Deals: opened from a conversation, moved stage by stage, closed won or lost with the lead."""

from decimal import Decimal

import pytest

from deals.models import Deal, DealStage
from deals.services import DealError, deal_move, deal_open, deal_update
from hooks.models import Delivery, Event
from hooks.services import endpoint_create
from leads.models import Activity, Lead
from outreach.models import OutreachMessage
from tests.factories import CampaignFactory, LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
S = Lead.Status


def stage(name: str) -> DealStage:
    return DealStage.objects.get(name=name)


def _status(lead: Lead) -> str:
    return Lead.objects.values_list("status", flat=True).get(pk=lead.pk)


def test_the_team_starts_with_the_stages_of_a_sales_path():
    assert [(s.name, s.outcome) for s in DealStage.objects.all()] == [
        ("Meeting", "open"),
        ("Needs assessed", "open"),
        ("Proposal sent", "open"),
        ("Negotiation", "open"),
        ("Won", "won"),
        ("Lost", "lost"),
    ]


def test_a_deal_opens_at_the_first_stage_and_books_the_meeting(alice):
    lead = LeadFactory(status=S.INTERESTED, owner=alice)
    deal = deal_open(lead=lead, actor=alice, value=Decimal("12000"), currency="eur", next_step="Send the deck")
    assert (deal.stage.name, deal.value, deal.currency, deal.campaign_id) == (
        "Meeting", Decimal("12000"), "EUR", lead.campaign_id,
    )  # fmt: skip
    assert _status(lead) == S.MEETING
    verbs = list(Activity.objects.filter(lead=lead).order_by("pk").values_list("verb", flat=True))
    assert verbs == ["lead.meeting", "deal.opened"]


@pytest.mark.parametrize("status", [S.NEW, S.QUALIFIED, S.WON, S.LOST, S.DO_NOT_CONTACT])
def test_a_deal_starts_only_from_a_conversation(alice, status):
    lead = LeadFactory(status=status, owner=alice)
    with pytest.raises(DealError, match="a deal starts from a conversation"):
        deal_open(lead=lead, actor=alice)
    assert not Deal.objects.exists()
    assert _status(lead) == status


def test_a_person_has_one_open_deal_at_a_time(alice):
    lead = LeadFactory(status=S.MEETING, owner=alice)
    deal_open(lead=lead, actor=alice)
    with pytest.raises(DealError, match="already has an open deal"):
        deal_open(lead=lead, actor=alice)
    assert Deal.objects.filter(lead=lead).count() == 1


def test_won_closes_the_deal_and_the_lead(alice):
    lead = LeadFactory(status=S.REPLIED, owner=alice)
    deal = deal_open(lead=lead, actor=alice, value=Decimal("5000"))
    for name in ("Needs assessed", "Proposal sent", "Negotiation", "Won"):
        deal_move(deal=deal, stage=stage(name), actor=alice)
    deal.refresh_from_db()
    assert deal.is_closed and deal.stage.name == "Won"
    assert _status(lead) == S.WON
    moves = [a.payload["to"] for a in Activity.objects.filter(lead=lead, verb="deal.stage_changed").order_by("pk")]
    assert moves == ["Needs assessed", "Proposal sent", "Negotiation", "Won"]
    with pytest.raises(DealError, match="was closed"):
        deal_move(deal=deal, stage=stage("Negotiation"), actor=alice)


def test_lost_needs_a_reason_and_gives_it_to_the_lead(alice):
    lead = LeadFactory(status=S.MEETING, owner=alice)
    deal = deal_open(lead=lead, actor=alice)
    with pytest.raises(DealError, match="Say why"):
        deal_move(deal=deal, stage=stage("Lost"), actor=alice, reason="  ")
    assert not Deal.objects.get(pk=deal.pk).is_closed
    deal_move(deal=deal, stage=stage("Lost"), actor=alice, reason="Chose a competitor")
    assert Deal.objects.get(pk=deal.pk).lost_reason == "Chose a competitor"
    assert _status(lead) == S.LOST
    moved = Activity.objects.get(lead=lead, verb="lead.lost")
    assert moved.payload["reason"] == "Chose a competitor"


def test_a_move_from_a_stale_page_is_refused(alice, bob):
    lead = LeadFactory(status=S.MEETING, owner=alice)
    deal = deal_open(lead=lead, actor=alice)
    stale = Deal.objects.get(pk=deal.pk)
    deal_move(deal=deal, stage=stage("Needs assessed"), actor=alice)
    with pytest.raises(DealError, match="Someone moved this deal meanwhile"):
        deal_move(deal=stale, stage=stage("Won"), actor=bob)
    assert Deal.objects.get(pk=deal.pk).stage.name == "Needs assessed"
    assert _status(lead) == S.MEETING


def test_an_inactive_stage_takes_no_deals(alice):
    deal = deal_open(lead=LeadFactory(status=S.MEETING, owner=alice), actor=alice)
    DealStage.objects.filter(name="Negotiation").update(is_active=False)
    with pytest.raises(DealError, match="takes no new deals"):
        deal_move(deal=deal, stage=stage("Negotiation"), actor=alice)


def test_changes_to_a_deal_are_on_the_timeline(alice):
    deal = deal_open(lead=LeadFactory(status=S.MEETING, owner=alice), actor=alice, value=Decimal("100"))
    deal_update(deal=deal, actor=alice, value=Decimal("150"), next_step="Call the CFO", currency="EUR")
    entry = Activity.objects.get(verb="deal.updated")
    assert entry.payload["changed"] == {"value": "150.00", "next_step": "Call the CFO"}
    deal_update(deal=deal, actor=alice, value=Decimal("150"))  # nothing changed: nothing written
    assert Activity.objects.filter(verb="deal.updated").count() == 1
    with pytest.raises(ValueError, match="stage"):
        deal_update(deal=deal, actor=alice, stage=stage("Won"))


def test_every_move_is_a_webhook_event(alice, carol):
    endpoint_create(
        url="https://hooks.example.com/in", events=[Event.DEAL_STAGE_CHANGED], description="CRM", actor=carol
    )
    deal = deal_open(lead=LeadFactory(status=S.MEETING, owner=alice), actor=alice, value=Decimal("900"))
    deal_move(deal=deal, stage=stage("Won"), actor=alice)
    sent = [d.payload["data"] for d in Delivery.objects.filter(event=Event.DEAL_STAGE_CHANGED).order_by("pk")]
    assert [(d["from"], d["to"], d["outcome"], d["value"]) for d in sent] == [
        ("", "Meeting", "open", "900.00"),
        ("Meeting", "Won", "won", "900.00"),
    ]


def test_a_deal_opens_in_the_teams_currency_and_only_in_a_real_one(alice, settings):
    settings.DEALS_DEFAULT_CURRENCY = "SEK"
    deal = deal_open(lead=LeadFactory(status=S.REPLIED, owner=alice), actor=alice)
    assert deal.currency == "SEK"
    with pytest.raises(DealError, match="not a currency code"):
        deal_open(lead=LeadFactory(status=S.REPLIED, owner=alice), actor=alice, currency="EUE")
    with pytest.raises(DealError, match="not a currency code"):
        deal_update(deal=deal, actor=alice, currency="XX")
    deal.refresh_from_db()
    assert deal.currency == "SEK" and Deal.objects.count() == 1


def test_opening_and_closing_a_deal_stop_what_still_waits_for_the_person(alice):
    # A deal books the meeting as the lead page's button does, and closes the lead as closing it does:
    # a sequence draft waiting in the queue must not go out to someone in a deal, or after it closed.
    lead = LeadFactory(status=S.REPLIED, owner=alice, campaign=CampaignFactory(owner=alice))
    waiting = MessageFactory(lead=lead, step=2)
    deal = deal_open(lead=lead, actor=alice)
    waiting.refresh_from_db()
    assert waiting.status == OutreachMessage.Status.CANCELLED

    written = MessageFactory(lead=lead, step=0)  # the rep's own note, still waiting
    deal_move(deal=deal, stage=stage("Won"), actor=alice)
    written.refresh_from_db()
    assert written.status == OutreachMessage.Status.CANCELLED
    assert _status(lead) == S.WON
