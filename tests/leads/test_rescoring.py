"""The daily rescore: what a person did moves their score; a rep's own score still wins."""

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import Activity, Lead
from leads.scoring import Signals, engagement
from leads.services import leads_rescore
from outreach.models import InboundMessage, OutreachMessage
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(campaign, alice):
    lead = LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.CONTACTED, raw_profile={})
    leads_rescore(campaign_id=campaign.pk)  # the rule score with no engagement yet
    lead.refresh_from_db()
    return lead


def sent(lead, days_ago: int, **fields) -> OutreachMessage:
    at = timezone.now() - dt.timedelta(days=days_ago)
    return MessageFactory(lead=lead, campaign=lead.campaign, status="sent", sent_at=at, **fields)


def reply(lead, account, intent: str, days_ago: int = 0) -> InboundMessage:
    return InboundMessage.objects.create(
        lead=lead,
        account=account,
        provider_id=f"r-{lead.pk}-{intent}-{days_ago}",
        text="Sounds good",
        intent=intent,
        received_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def test_a_positive_reply_raises_the_score_with_its_reason(lead, alice_account):
    before = lead.score
    sent(lead, 3)
    reply(lead, alice_account, "interested")

    assert leads_rescore() == 1

    lead.refresh_from_db()
    assert lead.score == min(100, before + 20)
    factor = next(f for f in lead.score_breakdown if f["factor"] == "engagement")
    assert factor["reason"] == "Replied with interest"
    assert sum(f["points"] for f in lead.score_breakdown) == lead.score or lead.score == 100
    assert Activity.objects.filter(lead=lead, verb="lead.rescored", payload__score=lead.score).exists()


def test_an_accepted_invitation_counts(lead):
    before = lead.score
    sent(lead, 5, kind="connection_note", accepted_at=timezone.now())
    leads_rescore()
    lead.refresh_from_db()
    assert lead.score == before + 10


def test_unanswered_messages_lower_the_score_step_by_step(lead):
    before = lead.score
    for step, days in enumerate((9, 6, 3), start=1):
        sent(lead, days, step=step, kind="message")
    leads_rescore()
    lead.refresh_from_db()
    assert lead.score == before - 10  # the first unanswered touch is free, each further one costs 5
    assert "3 messages unanswered" in next(f for f in lead.score_breakdown if f["factor"] == "engagement")["reason"]


def test_posts_about_the_campaign_topic_are_intent(lead, campaign):
    campaign.target.keywords = ["forecasting"]
    campaign.target.save()
    Lead.objects.filter(pk=lead.pk).update(
        raw_profile={"recent_posts": ["Posted about what CFOs get wrong about forecasting"]}
    )
    before = lead.score
    leads_rescore()
    lead.refresh_from_db()
    assert lead.score > before
    assert any(f["factor"] == "topic" and f["reason"] == "Posts about forecasting" for f in lead.score_breakdown)


def test_nothing_new_changes_nothing_and_writes_nothing(lead):
    activities = Activity.objects.count()
    assert leads_rescore() == 0
    assert Activity.objects.count() == activities


def test_a_hand_set_score_still_wins_and_stopped_leads_are_left_alone(lead, campaign, alice_account):
    Lead.objects.filter(pk=lead.pk).update(score_override=12)
    stopped = LeadFactory(campaign=campaign, status=Lead.Status.DO_NOT_CONTACT, score=55)
    reply(lead, alice_account, "interested")
    reply(stopped, alice_account, "interested")

    leads_rescore()

    lead.refresh_from_db()
    assert lead.score_override == 12 and lead.effective_score == 12
    assert Lead.objects.get(pk=stopped.pk).score == 55


def test_engagement_points_stay_within_their_bounds():
    assert engagement(Signals(positive=True, replies=3))[0]["points"] == 20
    assert engagement(Signals(unanswered=10))[0]["points"] == -15


def test_rescoring_costs_a_fixed_number_of_queries_per_batch(campaign, django_assert_max_num_queries):
    for _ in range(30):
        LeadFactory(campaign=campaign, status=Lead.Status.QUALIFIED)
    with django_assert_max_num_queries(12):
        leads_rescore()
