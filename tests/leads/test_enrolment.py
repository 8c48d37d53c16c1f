"""Enrolment: a second campaign on the same audience takes in the known people it may contact."""

import pytest

from campaigns.selectors import campaign_list
from leads.lifecycle import Trigger, lead_transition
from leads.models import Activity, Enrolment, Lead, SearchRun
from leads.services import lead_set_do_not_contact, leads_find
from tests.conftest import login
from tests.factories import CampaignFactory, LeadFactory
from tests.leads.test_csv_import import HEADER, csv_file, person, run

pytestmark = pytest.mark.django_db


def test_it_enrols_the_never_contacted_people_a_second_campaign_finds_again(client, campaign, bob):
    first = Lead.objects.filter(pk__in=leads_find(campaign_id=campaign.pk, limit=5)).order_by("pk")
    opted_out, answered, *untouched = first
    lead_set_do_not_contact(lead=opted_out, actor=bob, reason="Asked us to stop")
    lead_transition(lead=answered, to=Lead.Status.REPLIED, trigger=Trigger.REPLY_RECEIVED)
    second = CampaignFactory(owner=bob, target=campaign.target, name="Second wave")

    new = leads_find(campaign_id=second.pk, limit=5)  # the same network gives the same people first

    run = SearchRun.objects.get(campaign=second)
    assert (run.stored, run.enrolled, run.duplicates) == (len(new), 3, 2)
    assert "1 already known: do-not-contact" in run.notes
    assert "1 already known: replied or closed" in run.notes
    assert Lead.objects.count() == 10  # one person, one lead: nobody was stored twice
    joined = set(Enrolment.objects.filter(campaign=second, lead__campaign=campaign).values_list("lead", flat=True))
    assert joined == {lead.pk for lead in untouched}
    # Still in their first campaign too, and its own enrolment says so.
    assert set(Enrolment.objects.filter(lead__in=untouched).values_list("campaign", flat=True)) == {
        campaign.pk,
        second.pk,
    }
    entries = Activity.objects.filter(verb="lead.enrolled", campaign=second)
    assert set(entries.values_list("lead", flat=True)) == joined
    # The second campaign's lead list and count show the people who joined it.
    page = login(client, bob).get("/leads/", {"campaign": second.pk}).text
    assert all(lead.full_name in page for lead in untouched)
    assert opted_out.full_name not in page and answered.full_name not in page
    assert campaign_list().get(pk=second.pk).lead_count == len(new) + 3
    # Opting out stopped the person's place in their first campaign, not only their lead.
    assert Enrolment.objects.get(lead=opted_out).status == Enrolment.Status.STOPPED


def test_a_second_search_does_not_enrol_anyone_twice(campaign, bob):
    leads_find(campaign_id=campaign.pk, limit=3)
    second = CampaignFactory(owner=bob, target=campaign.target)
    leads_find(campaign_id=second.pk, limit=3)
    second.search_cursors = {}  # the search starts from the top again: the same people come back
    second.save(update_fields=["search_cursors"])

    leads_find(campaign_id=second.pk, limit=3)

    again = SearchRun.objects.filter(campaign=second).order_by("-pk").first()
    assert again.enrolled == 0
    # Its 3 own leads and the 3 who joined it come back first: each is in it already.
    assert "6 already known: already in this campaign" in again.notes
    own = Lead.objects.filter(campaign=second).count()  # 3 from each of its searches
    assert (own, Enrolment.objects.filter(campaign=second).count()) == (6, 3 + 6)  # each person once


def test_an_import_enrols_known_people_and_still_skips_the_do_not_contact(alice, bob, campaign):
    known = LeadFactory(campaign=campaign, linkedin_url="https://www.linkedin.com/in/ana-1", email=None)
    opted_out = LeadFactory(
        campaign=campaign, linkedin_url="https://www.linkedin.com/in/ana-2", status=Lead.Status.DO_NOT_CONTACT
    )
    second = CampaignFactory(owner=bob, status="draft")

    job = run(alice, csv_file(HEADER, person(1), person(2), person(3)), campaign=second)

    assert job.status == "done" and job.created_count == 1
    in_second = set(Enrolment.objects.filter(campaign=second).values_list("lead", flat=True))
    new = Lead.objects.get(linkedin_url="https://www.linkedin.com/in/ana-3")
    assert in_second == {known.pk, new.pk}
    assert not Enrolment.objects.filter(lead=opted_out).exists()
    assert Activity.objects.filter(verb="lead.enrolled", lead=known, campaign=second).count() == 1
    known.refresh_from_db()
    assert known.campaign == campaign  # their home campaign is where they were first found


def test_the_migration_enrols_every_existing_lead_in_its_campaign(campaign, alice):
    import importlib

    from django.apps import apps

    from tests.factories import MessageFactory

    migration = importlib.import_module("leads.migrations.0011_enrolments")
    working = LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.CONTACTED)
    MessageFactory(lead=working, campaign=campaign, step=1, status="sent")
    MessageFactory(lead=working, campaign=campaign, step=2, status="sent")
    answered = LeadFactory(campaign=campaign, status=Lead.Status.REPLIED)
    LeadFactory(campaign=None)  # in no campaign: nothing to enrol in
    Enrolment.objects.all().delete()  # as before enrolments existed

    migration.enrol_existing(apps, None)

    rows = {e.lead_id: (e.campaign_id, e.status, e.step) for e in Enrolment.objects.all()}
    assert rows == {working.pk: (campaign.pk, "active", 2), answered.pk: (campaign.pk, "stopped", 0)}
