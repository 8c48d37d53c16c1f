"""Finding leads: one person is one lead across sources, and every search shows its progress."""

import dataclasses

import pytest

from leads import services
from leads.dedupe import name_key
from leads.models import Activity, Lead, SearchRun
from leads.services import lead_store_prospect, leads_find
from leads.sources.base import Page, SourceError
from leads.sources.sandbox import SandboxSource, person
from tests.factories import CampaignFactory, CompanyFactory, LeadFactory

pytestmark = pytest.mark.django_db


def prospect(index=1, **changes):
    return dataclasses.replace(person(7, index), **changes)


@pytest.mark.parametrize(
    ("first", "last", "company", "same_as"),
    [
        ("Chloé", "O'Brien", "Ledgerly Ltd", ("chloe", "obrien", "LEDGERLY")),
        ("Jonas", "Müller", "Cobalt Analytics GmbH", ("Jonas", "Muller", "cobalt analytics")),
    ],
)
def test_names_match_across_spelling_of_accents_case_and_legal_suffixes(first, last, company, same_as):
    assert name_key(first, last, company) == name_key(*same_as)
    assert name_key(first, "", company) == ""  # a first name alone is nobody in particular


def test_a_known_person_is_merged_not_taken_again(campaign, bob):
    other = CampaignFactory(owner=bob)
    known = LeadFactory(
        campaign=other,
        owner=bob,
        status=Lead.Status.CONTACTED,
        email=None,
        headline="",
        position="CFO",
        linkedin_url="https://www.linkedin.com/in/known-person",
    )
    incoming = prospect(
        linkedin_url="https://linkedin.com/in/Known-Person/?trk=x",
        email="Known@Example.com",
        headline="CFO at Ledgerly | Keynote speaker",
        position="Chief Financial Officer",
    )

    assert lead_store_prospect(campaign=campaign, prospect=incoming, source="sandbox") is None

    known.refresh_from_db()
    assert (known.campaign, known.owner, known.status) == (other, bob, Lead.Status.CONTACTED)
    assert known.email == "known@example.com"  # filled: we had none
    assert known.headline == "CFO at Ledgerly | Keynote speaker"
    assert known.position == "CFO"  # never overwritten
    merged = Activity.objects.get(lead=known, verb="lead.merged")
    assert merged.payload["fields"] == ["email", "headline", "timezone"]
    assert Lead.objects.count() == 1


def test_the_same_name_at_the_same_company_is_the_same_person(campaign):
    company = CompanyFactory(name="Ledgerly")
    known = LeadFactory(first_name="Chloé", last_name="O'Brien", company=company, linkedin_url=None)
    incoming = prospect(first_name="Chloe", last_name="OBrien", company_name="Ledgerly Ltd", email=None)

    assert lead_store_prospect(campaign=campaign, prospect=incoming, source="sandbox") is None
    known.refresh_from_db()
    assert known.linkedin_url == incoming.linkedin_url.lower()


def test_an_email_another_lead_holds_is_not_merged_into_this_one(campaign):
    LeadFactory(email="taken@example.com")
    known = LeadFactory(linkedin_url="https://www.linkedin.com/in/someone", email=None)
    incoming = prospect(linkedin_url=known.linkedin_url, email="taken@example.com")

    lead_store_prospect(campaign=campaign, prospect=incoming, source="sandbox")

    known.refresh_from_db()
    assert known.email is None


def test_each_search_is_a_run_with_its_counts(campaign):
    found = leads_find(campaign_id=campaign.pk, limit=5)
    other = CampaignFactory(owner=campaign.owner, target=campaign.target)
    again = leads_find(campaign_id=other.pk, limit=5)

    run = SearchRun.objects.get(campaign=campaign)
    assert (run.status, run.source, run.stored, run.duplicates) == ("done", "sandbox", 5, 0)
    assert run.finished_at is not None and run.pages >= 1
    second = SearchRun.objects.get(campaign=other)
    assert second.stored == len(again) == 5
    # The same network gives the same people first: known, never contacted, so they join this campaign.
    assert (second.enrolled, second.duplicates) == (len(found), 0)
    assert second.found == second.stored + second.enrolled + second.duplicates


class FailsOnSecondPage:
    name = "flaky"

    def __init__(self):
        self.sandbox = SandboxSource()
        self.calls = 0

    def search_people(self, *, query, cursor, limit):
        self.calls += 1
        if self.calls == 2:
            raise SourceError("LinkedIn search is rate limited; the search resumes on the next run.")
        return self.sandbox.search_people(query=query, cursor=cursor, limit=limit)


def test_a_failing_source_keeps_its_place_and_the_other_sources_still_search(campaign, monkeypatch):
    flaky = FailsOnSecondPage()
    other_network = SandboxSource(seed=99)
    monkeypatch.setattr(services, "source_for", lambda name, campaign: flaky if name == "flaky" else other_network)
    campaign.lead_sources = ["flaky", "sandbox"]
    campaign.save(update_fields=["lead_sources"])
    monkeypatch.setattr(services, "MAX_PAGES_PER_RUN", 3)

    created = leads_find(campaign_id=campaign.pk, limit=60)

    failed = SearchRun.objects.get(campaign=campaign, source="flaky")
    assert failed.status == "failed" and "rate limited" in failed.error
    assert failed.stored == 50  # the first page is kept
    campaign.refresh_from_db()
    first_page_end = SandboxSource().search_people(query=services._search_query(campaign), cursor=None, limit=50)
    assert campaign.search_cursors["flaky"] == first_page_end.cursor  # resumes after the good page
    assert SearchRun.objects.get(campaign=campaign, source="sandbox").status == "done"
    assert len(created) == 60
    assert Activity.objects.filter(verb="campaign.search_failed", campaign=campaign).exists()


def test_an_empty_page_ends_the_search(campaign, monkeypatch):
    class Empty:
        def search_people(self, *, query, cursor, limit):
            return Page(items=[], cursor=None)

    monkeypatch.setattr(services, "source_for", lambda name, campaign: Empty())
    assert leads_find(campaign_id=campaign.pk, limit=5) == []
    campaign.refresh_from_db()
    assert campaign.search_cursors == {"sandbox": "end"}
    assert leads_find(campaign_id=campaign.pk, limit=5) == []
    assert SearchRun.objects.filter(campaign=campaign).count() == 1  # a finished search is not run again


def test_the_search_stops_at_the_campaigns_lead_goal(campaign):
    campaign.lead_goal = 7
    campaign.save(update_fields=["lead_goal"])
    assert len(leads_find(campaign_id=campaign.pk, limit=5)) == 5
    assert len(leads_find(campaign_id=campaign.pk, limit=5)) == 2
    assert leads_find(campaign_id=campaign.pk, limit=5) == []
    assert Lead.objects.filter(campaign=campaign).count() == 7


def test_what_a_source_skipped_is_kept_on_its_run(campaign, monkeypatch):
    class Noting(SandboxSource):
        notes = ["Profile lookups stopped for today: the account's limit of 40 is reached."]

    monkeypatch.setattr(services, "source_for", lambda name, campaign: Noting())
    leads_find(campaign_id=campaign.pk, limit=3)
    assert SearchRun.objects.get(campaign=campaign).notes == Noting.notes


def test_changing_the_target_restarts_the_search(campaign, bob):
    from campaigns.services import campaign_update

    leads_find(campaign_id=campaign.pk, limit=3)
    campaign.refresh_from_db()
    assert campaign.search_cursors["sandbox"]
    campaign_update(campaign=campaign, actor=bob, target={"titles": ["Treasurer"]})
    campaign.refresh_from_db()
    assert campaign.search_cursors == {}
    campaign_update(campaign=campaign, actor=bob, name="Renamed")  # not the target: nothing restarts
    leads_find(campaign_id=campaign.pk, limit=3)
    campaign.refresh_from_db()
    cursor = campaign.search_cursors["sandbox"]
    campaign_update(campaign=campaign, actor=bob, name="Renamed again")
    campaign.refresh_from_db()
    assert campaign.search_cursors == {"sandbox": cursor}


def test_qualified_leads_get_their_company_read_and_apollo_emails_bought(campaign, settings, monkeypatch):
    from campaigns.models import SequenceStep
    from leads import tasks

    settings.ENRICH_WEBSITES = True
    enriched, revealed = [], []
    monkeypatch.setattr(tasks.company_enrich_task, "delay_on_commit", enriched.append)
    monkeypatch.setattr(tasks.apollo_reveal_email_task, "delay_on_commit", revealed.append)
    SequenceStep.objects.create(campaign=campaign, order=3, kind="email", delay_days=4)
    apollo = LeadFactory(campaign=campaign, status=Lead.Status.NEW, source="apollo", email=None)
    sandbox = LeadFactory(campaign=campaign, status=Lead.Status.NEW, source="sandbox", email=None)
    excluded = LeadFactory(campaign=campaign, status=Lead.Status.NEW, source="apollo", headline="Intern")
    campaign.target.exclusions = ["Intern"]
    campaign.target.save()

    services.leads_qualify(lead_ids=[apollo.pk, sandbox.pk, excluded.pk])

    assert enriched == [apollo.company_id]  # sandbox companies are made up; the excluded lead is not qualified
    assert revealed == [apollo.pk]


def test_no_website_is_read_unless_enrichment_is_on(campaign, settings, monkeypatch):
    from leads import tasks

    settings.ENRICH_WEBSITES = False
    enriched = []
    monkeypatch.setattr(tasks.company_enrich_task, "delay_on_commit", enriched.append)
    lead = LeadFactory(campaign=campaign, status=Lead.Status.NEW, source="csv")
    services.leads_qualify(lead_ids=[lead.pk])
    assert enriched == []
