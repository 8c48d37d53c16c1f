"""LinkedIn people search through Unipile, against the fake Unipile over real HTTP."""

import datetime as dt
import logging
from collections.abc import Iterator

import pytest

from campaigns.models import Campaign
from leads.models import Lead, SearchParameter, SearchRun
from leads.services import leads_find
from leads.sources.base import SearchQuery, SourceError
from leads.sources.registry import source_for
from leads.sources.unipile import NO_ACCOUNT, UnipileSource, headcount_bands
from outreach.channels.unipile import NOT_CONFIGURED
from outreach.models import SendCounter, SendingAccount
from tests.factories import LeadFactory, SendingAccountFactory
from tests.fakes.unipile_server import FakeUnipile, search_person

pytestmark = pytest.mark.django_db
ACCOUNT_ID = "acc-search"
DAY1 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
SEARCH, PARAMETERS = "/api/v1/linkedin/search", "/api/v1/linkedin/search/parameters"


def _serve(settings, fake: FakeUnipile) -> FakeUnipile:
    settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = fake.dsn, fake.api_key
    settings.UNIPILE_TIMEOUT_SECONDS = 2.0
    return fake


@pytest.fixture
def fake_unipile(settings) -> Iterator[FakeUnipile]:
    with FakeUnipile() as fake:
        yield _serve(settings, fake)


@pytest.fixture
def off_contract_unipile(settings) -> Iterator[FakeUnipile]:
    """For answers Unipile's contract does not list (429 on search): its own key keeps them out of the contract test."""
    with FakeUnipile(api_key="unipile-off-contract-key") as fake:
        yield _serve(settings, fake)


@pytest.fixture
def li_account(alice) -> SendingAccount:
    return SendingAccountFactory(
        owner=alice,
        name="Alice LinkedIn",
        channel=SendingAccount.Channel.UNIPILE,
        provider_account_id=ACCOUNT_ID,
        daily_profile_views=40,
    )


@pytest.fixture
def li_campaign(campaign, li_account) -> Campaign:
    campaign.sending_accounts.add(li_account)
    campaign.lead_sources = ["unipile"]
    campaign.save(update_fields=["lead_sources"])
    target = campaign.target
    target.titles, target.keywords = ["Chief Financial Officer", "VP Finance"], ["payments"]
    target.locations, target.industries = ["London", "Berlin"], ["Fintech", "Banking"]
    target.save()
    return campaign


def _query(campaign: Campaign) -> SearchQuery:
    t = campaign.target
    return SearchQuery(
        titles=t.titles, seniorities=t.seniorities, industries=t.industries, locations=t.locations, keywords=t.keywords
    )


def _search(campaign: Campaign, *, cursor=None, limit=10, clock=lambda: DAY1):
    source = UnipileSource(campaign=campaign, clock=clock)
    return source, source.search_people(query=_query(campaign), cursor=cursor, limit=limit)


def test_it_sends_a_classic_search_with_filter_ids(fake_unipile, li_campaign):
    _search(li_campaign, limit=80)

    (request,) = fake_unipile.calls("POST", SEARCH)
    assert request["query"] == {"account_id": ACCOUNT_ID, "limit": "50"}  # classic pages hold 50 at most
    assert request["json"] == {
        "api": "classic",
        "category": "people",
        "keywords": "payments",
        "advanced_keywords": {"title": '"Chief Financial Officer" OR "VP Finance"'},
        "location": ["90009496", "103035651"],
        "industry": ["43", "41"],
    }
    assert request["status"] == 200


def test_it_sends_a_sales_navigator_search(fake_unipile, li_campaign):
    target = li_campaign.target
    target.linkedin_api = "sales_navigator"
    target.titles = ["Chief Financial Officer", "Chief Bean Counter"]
    target.seniorities, target.company_sizes = ["c_suite", "vp", "director"], ["51-200", "201-1000"]
    target.save()

    source, _ = _search(li_campaign, limit=150)

    (request,) = fake_unipile.calls("POST", SEARCH)
    assert request["query"]["limit"] == "100"
    assert request["json"] == {
        "api": "sales_navigator",
        "category": "people",
        "keywords": "payments",
        "role": {"include": ["68", "Chief Bean Counter"]},  # a title without an id goes as text
        "location": {"include": ["90009496", "103035651"]},
        "industry": {"include": ["43", "41"]},
        "seniority": {"include": ["cxo", "vice_president", "director"]},
        "company_headcount": [{"min": 51, "max": 200}, {"min": 201, "max": 500}, {"min": 501, "max": 1000}],
    }
    assert request["status"] == 200
    kinds = {call["query"]["type"] for call in fake_unipile.calls("GET", PARAMETERS)}
    assert kinds == {"JOB_TITLE", "LOCATION", "SALES_INDUSTRY"}
    assert any("chief bean counter" in note for note in source.notes)


def test_headcount_ranges_become_linkedin_bands():
    assert headcount_bands(["11-5000"]) == [
        {"min": 11, "max": 50},
        {"min": 51, "max": 200},
        {"min": 201, "max": 500},
        {"min": 501, "max": 1000},
        {"min": 1001, "max": 5000},
    ]
    assert headcount_bands(["5000+", "about fifty"]) == [
        {"min": 1001, "max": 5000},
        {"min": 5001, "max": 10000},
        {"min": 10001},
    ]


def test_a_pasted_search_url_replaces_the_filters(fake_unipile, li_campaign):
    url = "https://www.linkedin.com/sales/search/people?query=(keywords%3Afintech)"
    li_campaign.target.linkedin_search_url = url
    li_campaign.target.save()

    _, page = _search(li_campaign, limit=100)

    (request,) = fake_unipile.calls("POST", SEARCH)
    assert request["json"] == {"url": url}
    assert request["query"]["limit"] == "100"  # a Sales Navigator URL pages by 100
    assert fake_unipile.calls("GET", PARAMETERS) == []  # nothing to resolve
    assert len(page.items) > 80

    li_campaign.target.linkedin_api = "sales_navigator"
    li_campaign.target.linkedin_search_url = "https://www.linkedin.com/search/results/people/?keywords=cfo"
    li_campaign.target.save()
    _search(li_campaign, limit=100)
    assert fake_unipile.calls("POST", SEARCH)[-1]["query"]["limit"] == "50"  # a classic URL pages by 50


def test_filter_ids_are_resolved_once_and_cached(fake_unipile, li_campaign):
    li_campaign.target.locations = ["London", "  LONDON ", "Atlantis"]
    li_campaign.target.save()

    source, _ = _search(li_campaign)
    asked = fake_unipile.calls("GET", PARAMETERS)
    assert sorted(call["query"]["keywords"] for call in asked) == ["atlantis", "banking", "fintech", "london"]
    assert all(call["query"]["account_id"] == ACCOUNT_ID for call in asked)
    assert SearchParameter.objects.get(kind="LOCATION", text="atlantis").ids == []  # no match, remembered
    assert SearchParameter.objects.get(kind="LOCATION", text="london").ids == [
        {"id": "90009496", "title": "London Area, United Kingdom"}
    ]
    assert any("'atlantis'" in note for note in source.notes)

    second, _ = _search(li_campaign)
    assert len(fake_unipile.calls("GET", PARAMETERS)) == 4  # the second search asked nothing
    assert fake_unipile.calls("POST", SEARCH)[-1]["json"]["location"] == ["90009496"]
    assert any("'atlantis'" in note for note in second.notes)  # still said, not asked again

    _search(li_campaign, clock=lambda: DAY1 + dt.timedelta(days=31))
    assert len(fake_unipile.calls("GET", PARAMETERS)) == 8  # a month later, asked afresh


def test_it_maps_each_result_to_a_prospect(fake_unipile, li_campaign):
    _, page = _search(li_campaign, limit=10)

    by_id = {p.provider_id: p for p in page.items}
    first = by_id["ACoSearch000"]
    assert (first.first_name, first.last_name) == ("Lena", "Park")
    assert (first.position, first.company_name) == ("Chief Financial Officer", "Northwind Payments")
    assert first.headline == "Chief Financial Officer at Northwind Payments"
    assert (first.location, first.industry) == ("Berlin, Germany", "Financial Services")
    assert first.linkedin_url == "https://www.linkedin.com/in/lena-park-000"
    assert first.recent_posts == 0 and by_id["ACoSearch002"].recent_posts == 2
    assert first.raw == search_person(0) and first.email is None
    # A first-degree connection's profile was looked up: its email, and the profile kept in raw.
    connection = by_id["ACoSearch003"]
    assert connection.email == "jonas.003@example.com"
    assert connection.raw["profile"]["provider_id"] == "ACoSearch003"
    # A name that does not split plainly was looked up for the first name the greeting needs.
    assert (by_id["ACoSearch005"].first_name, by_id["ACoSearch005"].last_name) == ("Anna Maria", "Park")
    # A hidden "LinkedIn Member" is named by the profile.
    assert by_id["ACoSearch007"].first_name == "Hidden"
    assert by_id["ACoSearch007"].linkedin_url == "https://www.linkedin.com/in/hidden-person-007"
    looked_up = fake_unipile.calls("GET", "/api/v1/users/ACoSearch003")
    assert looked_up[0]["query"] == {"account_id": ACCOUNT_ID, "notify": "false"}
    assert len([r for r in fake_unipile.requests if r["path"].startswith("/api/v1/users/")]) == 3


def test_it_pages_through_unipile_cursors_and_resumes_from_the_saved_one(fake_unipile, li_campaign):
    created = leads_find(campaign_id=li_campaign.pk, limit=30)

    assert len(created) == 30
    li_campaign.refresh_from_db()
    cursor = li_campaign.search_cursors["unipile"]
    first_search = fake_unipile.calls("POST", SEARCH)[-1]
    assert "cursor" not in first_search["query"] and first_search["query"]["limit"] == "30"

    again = leads_find(campaign_id=li_campaign.pk, limit=30)

    resumed = fake_unipile.calls("POST", SEARCH)[-1]
    assert resumed["query"]["cursor"] == cursor  # Unipile's own cursor, handed back as it came
    assert len(again) == 30 and not set(again) & set(created)
    providers = set(Lead.objects.filter(campaign=li_campaign).values_list("provider_id", flat=True))
    assert providers == {f"ACoSearch{i:03d}" for i in range(60)}

    leads_find(campaign_id=li_campaign.pk, limit=500)
    li_campaign.refresh_from_db()
    assert li_campaign.search_cursors["unipile"] == "end"
    assert Lead.objects.filter(campaign=li_campaign, source="unipile").count() == 120
    assert source_for("unipile", campaign=li_campaign).name == "unipile"


def test_profile_views_stop_at_the_daily_limit_and_resume_the_next_day(fake_unipile, li_campaign, li_account):
    li_account.daily_profile_views = 4
    li_account.save()

    source, page = _search(li_campaign, limit=50)

    lookups = [r for r in fake_unipile.requests if r["path"].startswith("/api/v1/users/")]
    assert len(lookups) == 4  # 15 of the 50 wanted one
    counter = SendCounter.objects.get(account=li_account, kind=SendCounter.Kind.PROFILE_VIEW, day=DAY1.date())
    assert counter.count == 4
    assert any("daily profile-view limit" in note for note in source.notes)
    # Past the limit people are stored with what the search gave; hidden members cannot be.
    ids = {p.provider_id for p in page.items}
    assert "ACoSearch023" in ids and "ACoSearch017" not in ids
    assert {p.provider_id: p for p in page.items}["ACoSearch023"].email is None
    assert "profile" not in {p.provider_id: p for p in page.items}["ACoSearch023"].raw

    _search(li_campaign, cursor=page.cursor, limit=50)  # the same day: no lookups at all
    assert len([r for r in fake_unipile.requests if r["path"].startswith("/api/v1/users/")]) == 4

    _search(li_campaign, cursor=page.cursor, limit=50, clock=lambda: DAY1 + dt.timedelta(days=1))
    assert len([r for r in fake_unipile.requests if r["path"].startswith("/api/v1/users/")]) == 8
    tomorrow = SendCounter.objects.get(
        account=li_account, kind=SendCounter.Kind.PROFILE_VIEW, day=DAY1.date() + dt.timedelta(days=1)
    )
    assert tomorrow.count == 4


def test_known_people_are_not_looked_up_again(fake_unipile, li_campaign):
    LeadFactory(provider_id="ACoSearch003", linkedin_url="https://www.linkedin.com/in/someone-else")
    LeadFactory(provider_id="x", linkedin_url="https://www.linkedin.com/in/mateo-park-005")

    _search(li_campaign, limit=10)

    paths = [r["path"] for r in fake_unipile.requests if r["path"].startswith("/api/v1/users/")]
    assert paths == ["/api/v1/users/ACoSearch007"]


@pytest.mark.parametrize(
    ("keywords", "says"),
    [
        ("search-disconnected", "is disconnected from Unipile (errors/disconnected_account): reconnect it"),
        ("search-feature", "plan or permissions do not allow it"),
        ("search-provider-error", "Unipile failed for now (errors/provider_error)"),
        ("search-no-session", "Unipile failed for now (errors/no_client_session)"),
        ("search-timeout", "Unipile failed for now (errors/request_timeout)"),
    ],
)
def test_each_error_is_a_source_error(fake_unipile, li_campaign, keywords, says):
    li_campaign.target.keywords = [keywords]
    li_campaign.target.save()

    with pytest.raises(SourceError, match="^.*" + says.replace("(", r"\(").replace(")", r"\)")):
        _search(li_campaign)


def test_a_wrong_key_names_the_setting_and_is_never_logged(fake_unipile, li_campaign, settings, caplog):
    settings.UNIPILE_API_KEY = "wrong-secret-key"
    caplog.set_level(logging.DEBUG)

    with pytest.raises(SourceError, match="check UNIPILE_API_KEY"):
        _search(li_campaign)

    assert "wrong-secret-key" not in caplog.text


def test_an_unreachable_unipile_is_transient(li_campaign, settings):
    settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = "http://127.0.0.1:9", "key"

    with pytest.raises(SourceError, match=r"did not answer \(ConnectionError\); the search will be retried"):
        _search(li_campaign)


def test_without_a_connected_account_or_configuration_it_says_what_to_do(fake_unipile, campaign, li_campaign, settings):
    li_campaign.sending_accounts.filter(channel=SendingAccount.Channel.UNIPILE).update(is_active=False)
    with pytest.raises(SourceError, match=NO_ACCOUNT):
        _search(li_campaign)
    with pytest.raises(SourceError, match=NO_ACCOUNT):
        UnipileSource(campaign=None).search_people(query=SearchQuery(), cursor=None, limit=10)
    settings.UNIPILE_API_KEY = ""
    with pytest.raises(SourceError, match=NOT_CONFIGURED):
        _search(li_campaign)


def test_a_rate_limit_keeps_what_was_stored_and_the_next_run_resumes(off_contract_unipile, li_campaign):
    fake = off_contract_unipile
    first = leads_find(campaign_id=li_campaign.pk, limit=20)
    li_campaign.refresh_from_db()
    saved = li_campaign.search_cursors["unipile"]
    li_campaign.target.keywords = ["search-429"]
    li_campaign.target.save()

    assert leads_find(campaign_id=li_campaign.pk, limit=20) == []

    failed = SearchRun.objects.filter(campaign=li_campaign).order_by("-pk").first()
    assert failed.status == "failed" and "rate limited, will resume" in failed.error
    li_campaign.refresh_from_db()
    assert li_campaign.search_cursors["unipile"] == saved  # not lost, not reset
    assert Lead.objects.filter(pk__in=first).count() == 20
    assert fake.calls("POST", SEARCH)[-1]["status"] == 429

    li_campaign.target.keywords = ["payments"]
    li_campaign.target.save()
    again = leads_find(campaign_id=li_campaign.pk, limit=20)
    assert fake.calls("POST", SEARCH)[-1]["query"]["cursor"] == saved
    assert len(again) == 20 and Lead.objects.filter(campaign=li_campaign).count() == 40
