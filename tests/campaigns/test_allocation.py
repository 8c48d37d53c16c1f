"""Allocation: best leads first, within each rep's sending capacity, fairly, one rep per company."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns.allocation import campaign_allocate
from leads.models import Activity, Lead
from outreach.models import OutreachMessage, SendingAccount
from tests.factories import CampaignFactory, CompanyFactory, LeadFactory, MessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db


def unowned(campaign, n, **fields):
    return [LeadFactory(campaign=campaign, owner=None, **fields) for _ in range(n)]


def owners(leads):
    return {lead.pk: Lead.objects.get(pk=lead.pk).owner_id for lead in leads}


@pytest.fixture
def small(alice, dan, bob):
    """Two reps whose invitation caps allow 3 and 2 first touches today."""
    alice_account = SendingAccountFactory(owner=alice, daily_invites=3)
    dan_account = SendingAccountFactory(owner=dan, daily_invites=2)
    return CampaignFactory(owner=bob, accounts=[alice_account, dan_account])


def test_no_rep_gets_more_than_their_accounts_can_send_today(small, alice, dan):
    leads = unowned(small, 8)
    given = campaign_allocate(campaign_id=small.pk)
    assert len(given) == 5
    counts = list(owners(leads).values())
    assert counts.count(alice.pk) == 3 and counts.count(dan.pk) == 2
    assert campaign_allocate(campaign_id=small.pk) == []  # their drafts now fill today's room


def test_the_best_leads_go_first_and_a_hand_set_score_wins(small):
    low = unowned(small, 6, score=20)
    best = LeadFactory(campaign=small, owner=None, score=10, score_override=99)
    high = unowned(small, 3, score=90)
    given = campaign_allocate(campaign_id=small.pk)
    assert given[0] == best.pk
    assert set(given) == {best.pk, *(lead.pk for lead in high), low[0].pk}


def test_work_already_waiting_counts_against_a_rep(small, alice, dan):
    for _ in range(2):
        MessageFactory(lead=LeadFactory(campaign=small, owner=alice), campaign=small, step=1)
    leads = unowned(small, 4)
    campaign_allocate(campaign_id=small.pk)
    counts = list(owners(leads).values())
    assert counts.count(alice.pk) == 1 and counts.count(dan.pk) == 2  # alice had 2 of 3 taken


def test_leads_are_spread_evenly_when_there_is_room(campaign, alice, dan):
    leads = unowned(campaign, 10)
    campaign_allocate(campaign_id=campaign.pk)
    counts = list(owners(leads).values())
    assert sorted([counts.count(alice.pk), counts.count(dan.pk)]) == [5, 5]


def test_a_paused_account_gives_its_rep_no_room(small, alice, dan):
    SendingAccount.objects.filter(owner=alice).update(health=SendingAccount.Health.PAUSED)
    leads = unowned(small, 4)
    campaign_allocate(campaign_id=small.pk)
    assert set(owners(leads).values()) == {dan.pk, None}


def test_a_company_stays_with_the_rep_working_it(small, alice, dan):
    company = CompanyFactory()
    LeadFactory(company=company, owner=dan, status=Lead.Status.CONTACTED)  # dan works this company
    same = unowned(small, 3, company=company)
    campaign_allocate(campaign_id=small.pk)
    assert set(owners(same).values()) == {dan.pk, None}  # dan has room for 2; the third waits


def test_a_company_worked_by_a_rep_outside_the_campaign_waits(small, mallory):
    company = CompanyFactory()
    LeadFactory(company=company, owner=mallory, status=Lead.Status.QUALIFIED)
    lead = LeadFactory(campaign=small, owner=None, company=company)
    assert campaign_allocate(campaign_id=small.pk) == []
    assert Lead.objects.get(pk=lead.pk).owner is None


def test_a_company_contacted_long_ago_is_free_again(small, mallory, settings):
    company = CompanyFactory()
    old = LeadFactory(company=company, owner=mallory, status=Lead.Status.LOST)
    long_ago = timezone.now() - dt.timedelta(days=settings.CONTACT_WINDOW_DAYS + 1)
    MessageFactory(lead=old, campaign=old.campaign or small, status=OutreachMessage.Status.SENT, sent_at=long_ago)
    recent = LeadFactory(company=CompanyFactory(), owner=mallory, status=Lead.Status.LOST)
    MessageFactory(lead=recent, campaign=small, status=OutreachMessage.Status.SENT, sent_at=timezone.now())

    free = LeadFactory(campaign=small, owner=None, company=company)
    held = LeadFactory(campaign=small, owner=None, company=recent.company)
    campaign_allocate(campaign_id=small.pk)

    assert Lead.objects.get(pk=free.pk).owner is not None
    assert Lead.objects.get(pk=held.pk).owner is None


def test_each_allocation_is_on_the_timeline_and_a_paused_campaign_allocates_nothing(small):
    unowned(small, 2)
    small.status = "paused"
    small.save(update_fields=["status"])
    assert campaign_allocate(campaign_id=small.pk) == []
    small.status = "active"
    small.save(update_fields=["status"])
    given = campaign_allocate(campaign_id=small.pk)
    assert Activity.objects.filter(verb="lead.allocated", lead_id__in=given).count() == 2


def test_allocation_costs_the_same_queries_for_many_leads(small, django_assert_max_num_queries):
    unowned(small, 5)
    with django_assert_max_num_queries(40):
        assert len(campaign_allocate(campaign_id=small.pk)) == 5
