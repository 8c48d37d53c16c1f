"""People search and email reveals through Apollo, against a fake Apollo over real HTTP."""

import logging
from collections.abc import Iterator

import pytest

from leads.models import Activity, Lead, SearchRun
from leads.services import leads_find
from leads.sources.apollo import PER_PAGE, ApolloSource, apollo_reveal_email
from leads.sources.base import SearchQuery, SourceError
from tests.factories import LeadFactory
from tests.fakes.apollo_server import FakeApollo, apollo_person

pytestmark = pytest.mark.django_db
SEARCH, MATCH = "/api/v1/mixed_people/api_search", "/api/v1/people/match"


@pytest.fixture
def fake_apollo(settings) -> Iterator[FakeApollo]:
    with FakeApollo() as fake:
        settings.APOLLO_API_KEY, settings.APOLLO_BASE_URL = fake.api_key, fake.base_url + "/"
        yield fake


@pytest.fixture
def apollo_campaign(campaign):
    campaign.lead_sources = ["apollo"]
    campaign.save(update_fields=["lead_sources"])
    return campaign


def _query(campaign) -> SearchQuery:
    t = campaign.target
    return SearchQuery(titles=t.titles, seniorities=t.seniorities, industries=t.industries, locations=t.locations)


def test_it_searches_with_the_target_profile_and_the_key(fake_apollo, apollo_campaign):
    page = ApolloSource(campaign=apollo_campaign).search_people(query=_query(apollo_campaign), cursor=None, limit=10)

    (request,) = fake_apollo.calls(SEARCH)
    assert request["headers"]["x-api-key"] == fake_apollo.api_key
    assert request["json"] == {
        "page": 1,
        "per_page": PER_PAGE,  # fixed, so page numbers mean the same people on every run
        "person_titles": ["Chief Financial Officer", "VP Finance", "Head of Finance"],
        "person_seniorities": ["c_suite", "vp", "director"],
        "person_locations": ["London", "Berlin"],
        "q_organization_keyword_tags": ["Fintech", "Banking"],
        "organization_num_employees_ranges": ["11,5000"],
    }
    assert page.cursor == "2"
    first = page.items[0]
    assert (first.source_ref, first.first_name, first.last_name) == ("apollo-0000", "Maya", "Okafor")
    assert first.provider_id == ""  # Apollo's id is no LinkedIn id: a send must never be addressed to it
    assert (first.position, first.seniority) == ("Chief Financial Officer", "c_suite")
    assert (first.company_name, first.company_domain, first.employees) == (
        "Cobalt Analytics",
        "cobalt-analytics.com",
        320,
    )
    assert first.industry == "financial services"
    assert first.location == "London, England, United Kingdom"
    assert first.linkedin_url == "http://www.linkedin.com/in/maya-okafor-0000"
    assert first.email is None  # search reveals no email
    assert first.raw == apollo_person(0)


def test_it_pages_to_the_last_page_and_stops(fake_apollo, apollo_campaign):
    fake_apollo.total = 60  # 3 pages of 25
    source, cursor, seen = ApolloSource(campaign=apollo_campaign), None, []
    for _ in range(5):
        page = source.search_people(query=_query(apollo_campaign), cursor=cursor, limit=50)
        seen += [p.source_ref for p in page.items]
        cursor = page.cursor
        if cursor is None:
            break
    assert [call["json"]["page"] for call in fake_apollo.calls(SEARCH)] == [1, 2, 3]
    assert seen == [f"apollo-{i:04d}" for i in range(60)]


def test_leads_find_stores_apollo_people_and_resumes_at_the_next_page(fake_apollo, apollo_campaign):
    created = leads_find(campaign_id=apollo_campaign.pk, limit=10)

    assert len(created) == PER_PAGE  # a whole page is kept, not cut at the quota
    apollo_campaign.refresh_from_db()
    assert apollo_campaign.search_cursors == {"apollo": "2"}
    lead = Lead.objects.get(source_ref="apollo-0000")
    assert lead.provider_id == "" and lead.linkedin_url
    assert (lead.source, lead.email, lead.company.domain) == ("apollo", None, "cobalt-analytics.com")

    leads_find(campaign_id=apollo_campaign.pk, limit=10)
    assert fake_apollo.calls(SEARCH)[-1]["json"]["page"] == 2
    assert Lead.objects.filter(source="apollo").count() == 2 * PER_PAGE


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "Apollo refused our API key (HTTP 401): check APOLLO_API_KEY"),
        (403, "Apollo refused our API key (HTTP 403)"),
        (429, "Apollo is rate limited, will resume on the next run."),
        (500, "Apollo failed for now (HTTP 500); it will be retried on the next run."),
    ],
)
def test_each_error_is_a_source_error_and_nothing_stored_is_lost(fake_apollo, apollo_campaign, status, says):
    first = leads_find(campaign_id=apollo_campaign.pk, limit=5)
    fake_apollo.fail_with = status

    with pytest.raises(SourceError, match=says.replace("(", r"\(").replace(")", r"\)")):
        ApolloSource(campaign=apollo_campaign).search_people(query=SearchQuery(), cursor="2", limit=10)
    assert leads_find(campaign_id=apollo_campaign.pk, limit=5) == []

    failed = SearchRun.objects.filter(campaign=apollo_campaign).order_by("-pk").first()
    assert failed.status == "failed" and says in failed.error
    apollo_campaign.refresh_from_db()
    assert apollo_campaign.search_cursors == {"apollo": "2"}
    assert Lead.objects.filter(pk__in=first).count() == len(first) == PER_PAGE


def test_without_a_key_it_refuses_and_a_wrong_key_is_never_logged(fake_apollo, apollo_campaign, settings, caplog):
    settings.APOLLO_API_KEY = ""
    with pytest.raises(SourceError, match="set APOLLO_API_KEY"):
        ApolloSource().search_people(query=SearchQuery(), cursor=None, limit=10)
    assert fake_apollo.requests == []

    settings.APOLLO_API_KEY = "wrong-apollo-secret"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceError, match="HTTP 401"):
        ApolloSource().search_people(query=SearchQuery(), cursor=None, limit=10)
    assert "wrong-apollo-secret" not in caplog.text


def test_an_unreachable_apollo_is_transient(settings):
    settings.APOLLO_API_KEY, settings.APOLLO_BASE_URL = "key", "http://127.0.0.1:9"
    with pytest.raises(SourceError, match="did not answer"):
        ApolloSource().search_people(query=SearchQuery(), cursor=None, limit=10)


def test_it_reveals_a_qualified_leads_email_and_counts_the_credit(fake_apollo, campaign):
    lead = LeadFactory(campaign=campaign, source="apollo", source_ref="apollo-0001", email=None)

    assert apollo_reveal_email(lead) == "felix.okafor@heliohealth.eu"

    lead.refresh_from_db()
    assert lead.email == "felix.okafor@heliohealth.eu"
    (request,) = fake_apollo.calls(MATCH)
    assert request["json"] == {"id": "apollo-0001", "reveal_personal_emails": False}
    activity = Activity.objects.get(lead=lead, verb="lead.email_revealed")
    assert activity.payload["source"] == "apollo" and activity.payload["credits"] == 1
    assert activity.campaign == campaign


def test_a_lead_from_another_source_is_matched_by_name_and_company(fake_apollo, campaign):
    lead = LeadFactory(campaign=campaign, first_name="Ravi", last_name="Okafor", source="unipile", email=None)

    assert apollo_reveal_email(lead) == "ravi.okafor@heliohealth.eu"
    body = fake_apollo.calls(MATCH)[0]["json"]
    assert (body["first_name"], body["last_name"], body["organization_name"]) == ("Ravi", "Okafor", lead.company.name)


def test_an_address_another_lead_has_is_not_taken_but_the_credit_is_counted(fake_apollo, campaign):
    other = LeadFactory(email="felix.okafor@heliohealth.eu")
    lead = LeadFactory(campaign=campaign, source="apollo", source_ref="apollo-0001", email=None)

    assert apollo_reveal_email(lead) is None

    lead.refresh_from_db()
    assert lead.email is None
    activity = Activity.objects.get(lead=lead, verb="lead.email_revealed")
    assert activity.payload["credits"] == 1 and activity.payload["duplicate_of"] == other.pk


def test_no_credit_is_spent_on_an_unqualified_lead_or_one_with_an_email(fake_apollo, campaign):
    new = LeadFactory(campaign=campaign, status=Lead.Status.NEW, source="apollo", source_ref="apollo-0001", email=None)
    known = LeadFactory(campaign=campaign, source="apollo", source_ref="apollo-0002", email="known@example.com")

    assert apollo_reveal_email(new) is None
    assert apollo_reveal_email(known) == "known@example.com"
    assert fake_apollo.calls(MATCH) == []
    assert not Activity.objects.filter(verb="lead.email_revealed").exists()


def test_a_reveal_without_an_email_stores_nothing(fake_apollo, campaign):
    fake_apollo.no_email_ids = {"apollo-0003"}
    lead = LeadFactory(campaign=campaign, source="apollo", source_ref="apollo-0003", email=None)

    assert apollo_reveal_email(lead) is None
    lead.refresh_from_db()
    assert lead.email is None
    assert Activity.objects.get(lead=lead, verb="lead.email_revealed").payload["found"] is False


def test_a_refused_reveal_is_a_source_error(fake_apollo, campaign):
    fake_apollo.fail_with = 429
    lead = LeadFactory(campaign=campaign, source="apollo", source_ref="apollo-0001", email=None)

    with pytest.raises(SourceError, match="rate limited"):
        apollo_reveal_email(lead)
    assert not Activity.objects.filter(verb="lead.email_revealed").exists()
