"""Competitor watch: reading posts within the budget, grounded weekly summaries, counter-moves."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from competitors.models import Competitor, CompetitorPost, CompetitorSummary, ReadCounter
from competitors.services import (
    competitor_angle,
    competitor_engagers_to_leads,
    competitor_summarise,
    competitors_read,
)
from leads.models import Activity, Lead
from library.models import ContentItem
from salesdept import clock
from salesdept.llm.grounding import NUMBER
from tests.conftest import login
from tests.factories import CampaignFactory, LeadFactory, SendingAccountFactory
from tests.fakes import unipile_server
from tests.fakes.openai_server import json_reply

pytestmark = pytest.mark.django_db


def _rival(**kw) -> Competitor:
    return Competitor.objects.create(**{"name": "Ledgerline", "linkedin_id": "10351", **kw})


def _ago(**delta) -> dt.datetime:
    return clock.now() - dt.timedelta(**delta)


# -- Reading -------------------------------------------------------------------------------------------


def test_it_reads_a_company_s_posts_and_keeps_each_once(fake_unipile, reader_account):
    rival = _rival()
    fake_unipile.add_competitor_post("10351", text="We launch Ledgerline Close.", at=_ago(days=1), is_company=True)
    old = fake_unipile.add_competitor_post(
        "10351", text="Join our webinar.", at=_ago(hours=3), is_company=True, reactions=4
    )

    competitors_read()
    old["reaction_counter"] = 9  # read again later: more people reacted meanwhile
    competitors_read()

    assert CompetitorPost.objects.filter(competitor=rival).count() == 2
    webinar = CompetitorPost.objects.get(text="Join our webinar.")
    assert webinar.reactions == 9 and webinar.url == old["share_url"]
    (first, _) = fake_unipile.calls("GET", "/api/v1/users/10351/posts")
    assert first["query"]["is_company"] == "true" and first["query"]["account_id"] == reader_account.provider_account_id


def test_a_person_s_posts_are_read_without_the_company_flag(fake_unipile, reader_account):
    _rival(name="Dana at Ledgerline", kind=Competitor.Kind.PERSON, linkedin_id="ACoDana")
    fake_unipile.add_competitor_post("ACoDana", text="Three lessons from our launch.", at=_ago(days=2))

    run = competitors_read()

    assert run.stored == 1
    (call,) = fake_unipile.calls("GET", "/api/v1/users/ACoDana/posts")
    assert "is_company" not in call["query"]


def test_the_read_budget_holds(fake_unipile, reader_account, settings):
    """Past COMPETITOR_DAILY_READS nothing more is asked of LinkedIn that day; the next day reads again."""
    settings.COMPETITOR_DAILY_READS = 2
    for i in range(3):
        _rival(name=f"Rival {i}", linkedin_id=f"90{i}")
        fake_unipile.add_competitor_post(f"90{i}", text=f"Post {i}", at=_ago(days=1), is_company=True)

    run = competitors_read()

    assert (run.read, run.out_of_budget) == (2, 1)
    assert len([r for r in fake_unipile.requests if r["path"].endswith("/posts")]) == 2
    assert ReadCounter.objects.get(account=reader_account).count == 2
    assert competitors_read().read == 0  # the same day: nothing
    assert len([r for r in fake_unipile.requests if r["path"].endswith("/posts")]) == 2

    assert competitors_read(now=clock.now() + dt.timedelta(days=1)).read == 2
    never_read = Competitor.objects.filter(last_read_at__isnull=True)
    assert not never_read.exists()  # the one left out yesterday was read first


def test_a_failed_read_is_shown_and_the_others_still_read(fake_unipile, reader_account):
    _rival(name="Gone", linkedin_id="404404")  # LinkedIn does not know this page
    _rival(name="Here", linkedin_id="777")
    fake_unipile.add_competitor_post("777", text="Hello.", at=_ago(days=1), is_company=True)

    run = competitors_read()

    assert (run.read, run.failed) == (1, 1)
    assert "invalid_recipient" in Competitor.objects.get(name="Gone").read_error
    assert CompetitorPost.objects.filter(competitor__name="Here").count() == 1


# -- Weekly summary ----------------------------------------------------------------------------------------

LAUNCH = "We are launching Ledgerline Forecast today: cash forecasting for treasury teams in 14 currencies."
WEBINAR = "Join our webinar with Northwind Bank on closing the books in three days, Thursday 3 December."


def in_this_week(share: float) -> dt.datetime:
    """A moment `share` of the way from this week's Monday 00:00 UTC to now: this week at any instant."""
    now = clock.now()
    monday = dt.datetime.combine(now.date() - dt.timedelta(days=now.weekday()), dt.time(0), tzinfo=dt.UTC)
    return monday + (now - monday) * share + dt.timedelta(seconds=share * 60)


def _week_posts(rival: Competitor) -> list[CompetitorPost]:
    now = clock.now()
    return [
        CompetitorPost.objects.create(
            competitor=rival, provider_id=str(i), text=text, url=f"https://www.linkedin.com/feed/update/{i}/",
            posted_at=in_this_week(0.9 - i * 0.1), read_at=now,
        )
        for i, text in enumerate([LAUNCH, WEBINAR])
    ]  # fmt: skip


def _words(text: str) -> set[str]:
    return {w.strip(".,:").lower() for w in text.split()}


def test_a_summary_contains_only_facts_found_in_the_posts_it_cites(llm):
    rival = _rival()
    launch, webinar = _week_posts(rival)
    llm.queue(
        json_reply(
            {
                "points": [
                    {"kind": "launch", "text": "Launching Ledgerline Forecast: cash forecasting for treasury teams "
                     "in 14 currencies.", "posts": ["P1"]},
                    {"kind": "event", "text": "A webinar with Northwind Bank on closing the books in three days.",
                     "posts": ["P2"]},
                    {"kind": "theme", "text": "Ledgerline raised $20M to grow in treasury.", "posts": ["P1"]},
                    {"kind": "event", "text": "A webinar with Stripe on closing the books.", "posts": ["P2"]},
                    {"kind": "launch", "text": "Launching Ledgerline Forecast in 14 currencies.", "posts": ["P2"]},
                ]
            }
        )
    )  # fmt: skip

    summary = competitor_summarise(competitor=rival, day=clock.now().date())

    assert [point["posts"] for point in summary.points] == [[launch.pk], [webinar.pk]]
    for point in summary.points:  # every number and name of a shown point is in the posts it cites
        cited = " ".join(CompetitorPost.objects.get(pk=pk).text for pk in point["posts"])
        assert {m.group(0) for m in NUMBER.finditer(point["text"])} <= {m.group(0) for m in NUMBER.finditer(cited)}
        names = {w.strip(".,:") for w in point["text"].split()[1:] if w[0].isupper()}
        assert {n.lower() for n in names} <= _words(cited)
    reasons = [point["reason"] for point in summary.flagged]
    assert len(reasons) == 3
    assert "$20M" in reasons[0] or "20" in reasons[0]
    assert "Stripe" in reasons[1]
    assert reasons[2]  # right words, wrong post: the webinar post says nothing of 14 currencies
    assert summary.written_by != "template"


def test_the_summary_page_shows_only_grounded_points_with_links(client, bob, llm):
    rival = _rival()
    _week_posts(rival)
    llm.queue(
        json_reply(
            {
                "points": [
                    {"kind": "event", "text": "A webinar with Northwind Bank on closing the books in three days.",
                     "posts": ["P2"]},
                    {"kind": "theme", "text": "Ledgerline raised $20M to grow in treasury.", "posts": ["P1"]},
                ]
            }
        )
    )  # fmt: skip
    competitor_summarise(competitor=rival, day=clock.now().date())

    page = login(client, bob).get(reverse("competitors:list")).content.decode()

    assert "A webinar with Northwind Bank" in page
    assert "https://www.linkedin.com/feed/update/1/" in page
    assert "$20M" not in page
    assert "1 point the model wrote was held back" in page


def test_offline_the_summary_is_the_posts_own_sentences():
    rival = _rival()
    launch, webinar = _week_posts(rival)

    summary = competitor_summarise(competitor=rival, day=clock.now().date())

    assert summary.written_by == "template"
    assert [(p["kind"], p["posts"]) for p in summary.points] == [("launch", [launch.pk]), ("event", [webinar.pk])]
    assert summary.points[0]["text"] == LAUNCH and not summary.flagged


def test_no_posts_this_week_means_no_summary():
    rival = _rival()
    CompetitorPost.objects.create(
        competitor=rival, provider_id="old", text="Old news.", posted_at=_ago(days=30), read_at=clock.now()
    )
    assert competitor_summarise(competitor=rival, day=clock.now().date()) is None
    assert not CompetitorSummary.objects.exists()


def test_the_daily_report_of_the_week_s_last_day_has_the_competitors_section(bob):
    from reporting.reports import report_build

    rival = _rival()
    now = clock.now()
    sunday = now.date() + dt.timedelta(days=6 - now.date().weekday())
    monday = sunday - dt.timedelta(days=6)
    CompetitorPost.objects.create(
        competitor=rival, provider_id="p", text=WEBINAR, url="https://www.linkedin.com/feed/update/p/",
        posted_at=dt.datetime.combine(monday, dt.time(9), tzinfo=dt.UTC), read_at=now,
    )  # fmt: skip

    report = report_build(recipient=bob, day=sunday, now=now)
    tuesday = report_build(recipient=bob, day=monday + dt.timedelta(days=1), now=now)

    assert "Competitors this week" in report.html and "Join our webinar with Northwind Bank" in report.html
    assert "https://www.linkedin.com/feed/update/p/" in report.text
    assert "Competitors this week" not in tuesday.html  # weekly: once, on the week's last day


# -- Counter-moves: an angle from our library -------------------------------------------------------------


def test_the_angle_only_uses_library_facts(bob):
    rival = _rival()
    _week_posts(rival)
    ContentItem.objects.create(
        title="Old deck", url="https://example.com/old", summary="Old.", facts=["Forecasts in 40 currencies"],
        is_active=False,
    )  # fmt: skip
    item = ContentItem.objects.create(
        title="Case study: Brightvault", url="https://example.com/bv", summary="How Brightvault closes faster.",
        facts=["Brightvault closes its books in two days with us", "Used by 40 banks"],
    )  # fmt: skip

    angle = competitor_angle(competitor=rival)

    assert angle.fact in item.facts and angle.source == item
    assert angle.text == f"Unlike Ledgerline, we can show this: {angle.fact}"
    assert "40 currencies" not in angle.text  # an inactive item's fact is not ours to use


def test_no_library_facts_no_angle(client, bob):
    rival = _rival()
    campaign = CampaignFactory(owner=bob)
    ContentItem.objects.create(title="Empty", url="https://example.com/e", summary="Nothing to claim.", facts=[])

    response = login(client, bob).post(reverse("competitors:angle", args=[rival.pk]), {"campaign": campaign.pk})

    assert competitor_angle(competitor=rival) is None
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.value_points == []


def test_a_manager_accepts_the_angle_into_a_campaign_s_brief_once(client, bob):
    rival = _rival()
    campaign = CampaignFactory(owner=bob)
    ContentItem.objects.create(title="Proof", url="https://example.com/p", summary="s", facts=["Used by 40 banks"])
    login(client, bob)

    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Unlike Ledgerline, we can show this: Used by 40 banks" in page  # offered on the campaign's page
    response = client.post(reverse("competitors:angle", args=[rival.pk]), {"campaign": campaign.pk, "next": "campaign"})
    client.post(reverse("competitors:angle", args=[rival.pk]), {"campaign": campaign.pk})

    assert response.url == reverse("campaigns:detail", args=[campaign.pk])
    campaign.refresh_from_db()
    assert campaign.value_points == ["Unlike Ledgerline, we can show this: Used by 40 banks"]
    assert Activity.objects.filter(verb="campaign.angle_added", campaign=campaign).count() == 1


def test_a_bad_campaign_choice_is_a_form_error_not_a_crash(client, bob):
    rival = _rival()
    response = login(client, bob).post(reverse("competitors:angle", args=[rival.pk]), {"campaign": "nope"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


# -- Counter-moves: people who engage ----------------------------------------------------------------------


def _engaged(fake_unipile) -> Competitor:
    rival = _rival()
    first = fake_unipile.add_competitor_post("10351", text="Launch day.", at=_ago(days=1), is_company=True, reactions=3)
    second = fake_unipile.add_competitor_post("10351", text="Webinar.", at=_ago(days=2), is_company=True, reactions=4)
    for person in (1, 2, 7):  # 7: a hidden "LinkedIn Member", nobody we can name
        fake_unipile.add_competitor_reaction(first, person)
    for person in (2, 4, 6):  # 2 reacted twice
        fake_unipile.add_competitor_reaction(second, person)
    competitors_read()
    return rival


def test_engagers_become_leads_without_duplicates(fake_unipile, reader_account, bob):
    rival = _engaged(fake_unipile)
    campaign = CampaignFactory(owner=bob, daily_lead_quota=25)
    known = unipile_server.search_person(6)
    LeadFactory(linkedin_url=known["public_profile_url"], first_name=known["first_name"])  # already ours

    run = competitor_engagers_to_leads(competitor=rival, campaign=campaign)
    again = competitor_engagers_to_leads(competitor=rival, campaign=campaign)

    new = Lead.objects.filter(source="competitor_engagement")
    assert sorted(new.values_list("provider_id", flat=True)) == ["ACoSearch001", "ACoSearch002", "ACoSearch004"]
    assert {lead.insight for lead in new} == {"Engaged with Ledgerline's post"}
    assert (run.leads, run.enrolled, run.read) == (3, 1, 2)  # the known person joined the campaign instead
    assert Lead.objects.filter(linkedin_url=known["public_profile_url"]).count() == 1
    assert (again.read, again.leads) == (0, 0)  # each post's reactions are read once
    assert len([r for r in fake_unipile.requests if r["path"].endswith("/reactions")]) == 2
    assert Activity.objects.filter(verb="lead.engaged_competitor").count() == 4


def test_engagers_stay_within_the_quota_and_the_read_budget(fake_unipile, reader_account, bob, settings):
    rival = _engaged(fake_unipile)  # took 1 read
    campaign = CampaignFactory(owner=bob, daily_lead_quota=2)

    run = competitor_engagers_to_leads(competitor=rival, campaign=campaign)
    assert run.leads == 2

    settings.COMPETITOR_DAILY_READS = 2  # one read left today
    CompetitorPost.objects.update(engagers_read_at=None)
    Lead.objects.all().delete()
    run = competitor_engagers_to_leads(competitor=rival, campaign=CampaignFactory(owner=bob, daily_lead_quota=25))
    assert (run.read, run.out_of_budget) == (0, True)
    reaction_reads = [r for r in fake_unipile.requests if r["path"].endswith("/reactions")]
    assert len(reaction_reads) == 1  # only the first run's one read; none past the budget


def test_a_manager_asks_for_engagers_from_the_page(
    client, bob, fake_unipile, reader_account, django_capture_on_commit_callbacks, eager
):
    rival = _engaged(fake_unipile)
    campaign = CampaignFactory(owner=bob)

    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, bob).post(reverse("competitors:engagers", args=[rival.pk]), {"campaign": campaign.pk})

    assert response.status_code == 302
    leads = Lead.objects.filter(source="competitor_engagement")
    assert leads.count() == 4
    for lead in leads:  # qualified like any found lead; the why-line still says how we found them
        assert lead.status in (Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED)
        assert "engaged with ledgerline's post" in lead.insight.lower(), lead.insight


# -- Pages -------------------------------------------------------------------------------------------------


def test_a_manager_adds_a_competitor(client, bob):
    response = login(client, bob).post(
        reverse("competitors:new"),
        {"name": "Ledgerline", "kind": "company", "linkedin_id": "10351", "public_identifier": "ledgerline",
         "notes": "Cheaper, slower.", "is_active": "on"},
    )  # fmt: skip
    rival = Competitor.objects.get()
    assert response.url == reverse("competitors:detail", args=[rival.pk])
    assert rival.created_by == bob and rival.linkedin_url == "https://www.linkedin.com/company/ledgerline/"


@pytest.mark.parametrize(
    "kind,linkedin_id",
    [("company", "ACoAAA"), ("person", "10351"), ("company", "1 OR 1=1"), ("company", ""), ("robot", "1")],
)
def test_a_bad_competitor_is_a_form_with_errors(client, bob, kind, linkedin_id):
    response = login(client, bob).post(
        reverse("competitors:new"), {"name": "X", "kind": kind, "linkedin_id": linkedin_id}
    )
    assert response.status_code == 200 and "Nothing was saved" in response.content.decode()
    assert not Competitor.objects.exists()


def test_the_pages_do_not_grow_queries_with_data(client, bob, django_assert_max_num_queries):
    for i in range(8):
        rival = _rival(name=f"R{i}", linkedin_id=f"5{i}")
        _week_posts(rival)
        competitor_summarise(competitor=rival, day=clock.now().date())
    login(client, bob)
    with django_assert_max_num_queries(15):
        assert client.get(reverse("competitors:list")).status_code == 200
    with django_assert_max_num_queries(15):
        assert client.get(reverse("competitors:detail", args=[rival.pk])).status_code == 200


# -- The sandbox: a week of competitor activity in the demo ---------------------------------------------------


def test_the_demo_shows_a_week_of_competitor_activity_and_a_summary(client, settings):
    from django.core.management import call_command

    settings.SEED_DEMO = True
    call_command("seed_demo", "--leads", "3", stdout=io.StringIO())
    call_command("seed_demo", "--leads", "3", stdout=io.StringIO())  # run again (each `make run`): nothing doubles

    week = clock.now() - dt.timedelta(days=7)
    for rival in Competitor.objects.all():
        assert rival.posts.filter(posted_at__gte=week).count() >= 2, rival
    assert CompetitorPost.objects.count() == len({p.provider_id for p in CompetitorPost.objects.all()})
    assert Competitor.objects.count() == 2
    summary = CompetitorSummary.objects.filter(competitor__name="Ledgerline").order_by("-week_start").first()
    assert summary.points and summary.written_by == "template"
    bob = get_user_model().objects.get(username="bob.manager@example.com")
    page = login(client, bob).get(reverse("competitors:list")).content.decode()
    assert summary.points[0]["text"] in page.replace("&#x27;", "'")


def test_the_sandbox_simulates_the_same_posts_and_engagers_every_time(bob):
    from competitors.readers import SandboxReader

    rival, account = _rival(), SendingAccountFactory()
    first = SandboxReader(now=clock.now()).posts(rival, account)
    assert first == SandboxReader(now=clock.now()).posts(rival, account)
    competitors_read()
    campaign = CampaignFactory(owner=bob, daily_lead_quota=50)
    run = competitor_engagers_to_leads(competitor=rival, campaign=campaign)
    assert run.leads > 0 and run.read == CompetitorPost.objects.filter(reactions__gt=0).count()
    assert set(Lead.objects.values_list("insight", flat=True)) == {"Engaged with Ledgerline's post"}


# -- Odd input and many workers -----------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["competitors:new", "competitors:edit"])
def test_odd_input_to_the_competitor_form_is_a_form_with_errors_never_a_500(client, bob, url_name):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    rival = _rival()
    url = reverse(url_name, args=[rival.pk] if url_name.endswith("edit") else [])
    login(client, bob)
    odd = st.one_of(st.sampled_from(["\x00", "²", "١٢", "x" * 5000, "ACo", "-1", "99999999999999999999999"]), st.text())
    fields = st.fixed_dictionaries({"name": odd, "kind": odd, "linkedin_id": odd, "public_identifier": odd})

    @settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=fields)
    def check(data):
        response = client.post(url, data)
        assert response.status_code in (200, 302), (data, response.status_code)
        if response.status_code == 200:
            assert "Nothing was saved" in response.content.decode()

    check()
    rival.refresh_from_db()
    assert Competitor.objects.count() <= 2


@pytest.mark.django_db(transaction=True)
def test_the_read_budget_holds_across_workers(settings):
    """Eight threads (each its own database connection) take reads at once: never more than the budget."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from competitors.budget import read_take

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")
    settings.COMPETITOR_DAILY_READS = 5
    account, now = SendingAccountFactory(), clock.now()

    def take(_: int) -> bool:
        try:
            return read_take(account, now)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(take, range(40)))

    assert sum(taken) == 5
    assert ReadCounter.objects.get(account=account).count == 5


def test_without_a_healthy_account_nothing_is_read_and_the_page_says_why(client, bob, fake_unipile, reader_account):
    rival = _rival()
    reader_account.health = reader_account.Health.AUTH_ERROR
    reader_account.save(update_fields=["health"])

    assert competitors_read().read == 0
    run = competitor_engagers_to_leads(competitor=rival, campaign=CampaignFactory(owner=bob))

    assert run.error and not fake_unipile.requests
    page = login(client, bob).get(reverse("competitors:detail", args=[rival.pk])).content.decode()
    assert "No healthy LinkedIn account to read with" in page


def test_a_failed_engagers_read_is_shown_on_the_competitor(client, bob, fake_unipile, reader_account):
    rival = _engaged(fake_unipile)
    fake_unipile.set_status(reader_account.provider_account_id, "CREDENTIALS")  # LinkedIn logged the account out

    run = competitor_engagers_to_leads(competitor=rival, campaign=CampaignFactory(owner=bob))

    assert run.error and run.leads == 0 and not Lead.objects.exists()
    rival.refresh_from_db()
    assert "disconnected_account" in rival.read_error
    assert not CompetitorPost.objects.filter(engagers_read_at__isnull=False).exists()  # tried again next time


def test_last_week_is_summarised_again_once_it_is_over():
    """A summary written mid-week misses the week's last posts: the first run after it ends writes it again."""
    from competitors.services import competitors_summarise, week_start

    rival = _rival()
    monday = week_start(clock.now().date())
    last_sunday = dt.datetime.combine(monday - dt.timedelta(days=1), dt.time(20), tzinfo=dt.UTC)
    CompetitorPost.objects.create(
        competitor=rival, provider_id="early", text="Join our webinar on cash.", read_at=clock.now(),
        posted_at=last_sunday - dt.timedelta(days=5),
    )  # fmt: skip
    competitor_summarise(competitor=rival, day=monday - dt.timedelta(days=3))  # only the webinar so far
    CompetitorSummary.objects.update(updated_at=last_sunday - dt.timedelta(days=3))  # written mid-week
    CompetitorPost.objects.create(
        competitor=rival, provider_id="late", text="We are launching Ledgerline Close.", read_at=clock.now(),
        posted_at=last_sunday,
    )  # fmt: skip

    competitors_summarise()
    competitors_summarise()  # already complete: not written again

    (summary,) = CompetitorSummary.objects.filter(week_start=monday - dt.timedelta(days=7))
    assert [p["text"] for p in summary.points] == ["We are launching Ledgerline Close.", "Join our webinar on cash."]
