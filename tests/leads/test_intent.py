"""Intent from activity: what a person does on LinkedIn moves their score, with a reason, within the read budget.

LinkedIn people are read through the fake Unipile over real HTTP; sandbox people through the simulation.
"""

import datetime as dt
import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from leads.intent import ACTIVITY_TTL, activity_merged, leads_activity_read, leads_activity_read_due
from leads.models import Activity, Lead
from leads.scoring import Signals, intent
from leads.services import leads_rescore
from leads.sources import sandbox
from leads.sources.base import ActivityItem
from outreach.channels.unipile import NOT_CONFIGURED
from outreach.models import SendCounter, SendingAccount
from outreach.services import messages_draft
from salesdept import clock
from tests.conftest import login
from tests.factories import LeadFactory, SendingAccountFactory
from tests.fakes.unipile_server import FakeUnipile, search_person

pytestmark = pytest.mark.django_db
ACCOUNT_ID = "acc-intent"
POSTS = "/api/v1/users/{}/posts"


@pytest.fixture
def fake_unipile(settings) -> Iterator[FakeUnipile]:
    with FakeUnipile() as fake:
        settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = fake.dsn, fake.api_key
        settings.UNIPILE_TIMEOUT_SECONDS = 2.0
        yield fake


@pytest.fixture
def li_account(alice) -> SendingAccount:
    return SendingAccountFactory(
        owner=alice, channel=SendingAccount.Channel.UNIPILE, provider_account_id=ACCOUNT_ID, daily_profile_views=40
    )


@pytest.fixture
def li_campaign(campaign, li_account):
    """A LinkedIn campaign: its only reading account is the Unipile one; the target wants payments people."""
    campaign.sending_accounts.set([li_account])
    campaign.target.keywords = ["payments", "forecasting"]
    campaign.target.save()
    return campaign


def li_lead(campaign, provider_id: str, **fields) -> Lead:
    lead = LeadFactory(campaign=campaign, source="unipile", provider_id=provider_id, raw_profile={}, **fields)
    leads_rescore(lead_ids=[lead.pk])  # the score as it stands before anything is read
    lead.refresh_from_db()
    return lead


def views_used(account: SendingAccount) -> int:
    counter = SendCounter.objects.filter(account=account, kind=SendCounter.Kind.PROFILE_VIEW).first()
    return counter.count if counter else 0


def factor(lead: Lead, name: str) -> dict | None:
    return next((f for f in lead.score_breakdown if f["factor"] == name), None)


# -- LinkedIn people, through Unipile -----------------------------------------------------------------------------


def test_it_reads_posts_and_comments_and_a_post_about_the_need_raises_the_score_with_its_reason(
    fake_unipile, li_campaign, li_account
):
    now = clock.now()
    lead = li_lead(li_campaign, "ACo-lena")
    before = lead.score
    fake_unipile.add_user_post(
        "ACo-lena", text="We are choosing a real-time Payments provider", at=now - dt.timedelta(days=2)
    )
    fake_unipile.add_user_comment("ACo-lena", text="Great event last week", at=now - dt.timedelta(days=5))
    fake_unipile.add_user_reaction("ACo-lena", post_id="urn:li:activity:1")

    run = leads_activity_read(lead_ids=[lead.pk], now=now)

    assert run.read == [lead.pk]
    lead.refresh_from_db()
    assert lead.score == before + 10
    assert factor(lead, "topic") == {
        "factor": "topic",
        "points": 10,
        "max": 10,
        "reason": "Posted about payments 2 days ago",
    }
    assert lead.activity_read_at == now
    assert [item["kind"] for item in lead.activity] == ["reaction", "post", "comment"]  # the reaction first seen now
    assert Activity.objects.filter(lead=lead, verb="lead.rescored", payload__score=lead.score).exists()
    for what in ("posts", "comments", "reactions"):
        (call,) = fake_unipile.calls("GET", f"/api/v1/users/ACo-lena/{what}")
        assert call["query"] == {"account_id": ACCOUNT_ID, "limit": "10"}
    assert views_used(li_account) == 3  # three requests, three visits LinkedIn may count


def test_old_activity_and_activity_off_topic_move_nothing(fake_unipile, li_campaign):
    now = clock.now()
    lead = li_lead(li_campaign, "ACo-quiet")
    before = lead.score
    fake_unipile.add_user_post("ACo-quiet", text="Payments, payments", at=now - dt.timedelta(days=200))
    fake_unipile.add_user_post("ACo-quiet", text="Our team offsite was fun", at=now - dt.timedelta(days=1))

    leads_activity_read(lead_ids=[lead.pk], now=now)

    lead.refresh_from_db()
    assert lead.score == before
    assert factor(lead, "topic") is None
    assert factor(lead, "activity")["reason"] == "No job change or engagement with us or a competitor lately"


def test_the_daily_profile_view_budget_holds_and_the_rest_wait_for_tomorrow(fake_unipile, li_campaign, li_account):
    SendingAccount.objects.filter(pk=li_account.pk).update(daily_profile_views=7)  # two reads of three views
    now = clock.now()
    leads = [li_lead(li_campaign, f"ACo-b{i}") for i in range(3)]

    run = leads_activity_read(lead_ids=[lead.pk for lead in leads], now=now)

    assert (len(run.read), run.out_of_views) == (2, 1)
    assert views_used(li_account) == 6  # a read takes all its views or none: the seventh is not half-spent
    asked = [r for r in fake_unipile.requests if r["path"].endswith("/posts")]
    assert len(asked) == 2
    assert Lead.objects.get(pk=leads[2].pk).activity_read_at is None

    tomorrow = now + dt.timedelta(days=1)
    assert leads_activity_read(lead_ids=[lead.pk for lead in leads], now=tomorrow).read == [leads[2].pk]


def test_nothing_is_read_for_a_lead_without_a_linkedin_identity(fake_unipile, li_campaign, li_account):
    lead = LeadFactory(campaign=li_campaign, source="csv", provider_id="", linkedin_url=None, email="x@example.com")

    run = leads_activity_read(lead_ids=[lead.pk], now=clock.now())
    due = leads_activity_read_due(now=clock.now())

    assert run.no_identity == 1 and not run.read and not due.read
    assert fake_unipile.requests == []
    assert views_used(li_account) == 0
    assert Lead.objects.get(pk=lead.pk).activity_read_at is None


def test_a_lead_known_only_by_profile_url_is_looked_up_once_and_read(fake_unipile, li_campaign, li_account):
    person = search_person(4)
    lead = li_lead(li_campaign, "", linkedin_url=f"https://www.linkedin.com/in/{person['public_identifier']}")
    fake_unipile.add_user_post(person["id"], text="Forecasting season again", at=clock.now())

    leads_activity_read(lead_ids=[lead.pk], now=clock.now())

    lead.refresh_from_db()
    assert lead.provider_id == person["id"]  # kept: the next read goes straight to the person
    assert factor(lead, "topic")["reason"] == "Posted about forecasting today"
    assert views_used(li_account) == 4  # the lookup is a visit too


def test_a_failed_read_keeps_what_the_lead_had_and_is_tried_again(fake_unipile, li_campaign, li_account):
    lead = li_lead(li_campaign, "ACo-provider-error")  # the fake answers 500 for this person
    before = (lead.score, lead.score_breakdown)

    run = leads_activity_read(lead_ids=[lead.pk], now=clock.now())

    assert run.failed == 1 and "could not read" in run.notes[0]
    lead.refresh_from_db()
    assert (lead.score, lead.score_breakdown) == before
    assert lead.activity_read_at is None


def test_a_person_is_read_at_most_once_a_week(fake_unipile, li_campaign):
    now = clock.now()
    lead = li_lead(li_campaign, "ACo-weekly")
    leads_activity_read(lead_ids=[lead.pk], now=now)
    leads_activity_read(lead_ids=[lead.pk], now=now + ACTIVITY_TTL - dt.timedelta(hours=1))
    assert len(fake_unipile.calls("GET", POSTS.format("ACo-weekly"))) == 1
    leads_activity_read(lead_ids=[lead.pk], now=now + ACTIVITY_TTL)
    assert len(fake_unipile.calls("GET", POSTS.format("ACo-weekly"))) == 2


def test_an_account_outside_its_working_hours_reads_nobody(fake_unipile, li_campaign, li_account):
    SendingAccount.objects.filter(pk=li_account.pk).update(working_days=[])
    lead = li_lead(li_campaign, "ACo-night")
    assert leads_activity_read(lead_ids=[lead.pk], now=clock.now()).no_account == 1
    assert fake_unipile.requests == []


def test_the_schedule_reads_live_leads_never_read_first(fake_unipile, li_campaign):
    now = clock.now()
    read_before = li_lead(li_campaign, "ACo-old")
    Lead.objects.filter(pk=read_before.pk).update(activity_read_at=now - dt.timedelta(days=8))
    never = li_lead(li_campaign, "ACo-never")
    fresh = li_lead(li_campaign, "ACo-fresh")
    Lead.objects.filter(pk=fresh.pk).update(activity_read_at=now - dt.timedelta(days=1))
    stopped = li_lead(li_campaign, "ACo-stopped", status=Lead.Status.DO_NOT_CONTACT)

    run = leads_activity_read_due(now=now)

    assert run.read == [never.pk, read_before.pk]
    asked = [r["path"].split("/")[4] for r in fake_unipile.requests if r["path"].endswith("/posts")]
    assert asked == ["ACo-never", "ACo-old"]  # never read comes first
    assert Lead.objects.get(pk=stopped.pk).activity_read_at is None


# -- the score's reasons ------------------------------------------------------------------------------------------


def _at(now: dt.datetime, days: int) -> str:
    return (now - dt.timedelta(days=days)).isoformat()


def test_a_job_change_and_engagement_with_us_and_a_competitor_each_give_a_reason():
    now = clock.now()
    activity = [
        {"kind": "reaction", "at": _at(now, 1), "about": "ours", "post_id": "p1"},
        {"kind": "comment", "at": _at(now, 3), "about": "competitor", "who": "Ledgerline", "text": "Nice"},
        {"kind": "job_change", "at": _at(now, 20), "text": "Started a new role"},
    ]
    (topic_or_activity,) = intent(Signals(activity=activity, keywords=["payments"], now=now))
    assert topic_or_activity == {
        "factor": "activity",
        "points": 15,  # 10 + 6 + 5, kept within the factor's 15
        "max": 15,
        "reason": "Engaged with our post 1 day ago; engaged with Ledgerline's post 3 days ago; "
        "changed jobs 2 weeks ago",
    }


def test_fresher_activity_counts_more():
    now = clock.now()

    def points(days: int) -> int:
        post = {"kind": "post", "at": _at(now, days), "text": "Rethinking forecasting"}
        return intent(Signals(activity=[post], keywords=["forecasting"], now=now))[0]["points"]

    assert [points(d) for d in (0, 14, 20, 60)] == [10, 10, 6, 3]
    assert [f["factor"] for f in intent(Signals(activity=[], keywords=["x"], now=now))] == ["activity"]
    assert intent(Signals()) == []  # never read: no reason claimed either way


# -- sandbox people: the simulation ------------------------------------------------------------------------------


def test_the_sandbox_simulation_is_deterministic_and_moves_day_by_day():
    now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
    people = [f"sbx-42-{i:05d}" for i in range(300)]
    first = [sandbox.activity(42, person, now) for person in people]

    assert first == [sandbox.activity(42, person, now) for person in people]
    assert first != [sandbox.activity(43, person, now) for person in people]  # another seed, another network
    items = [item for person in first for item in person]
    assert {item.kind for item in items} == {"post", "comment", "reaction", "job_change"}
    assert {item.about for item in items} == {"", "ours", "competitor"}
    assert all(now - dt.timedelta(days=30) < dt.datetime.fromisoformat(i.at) <= now for i in items)
    assert any(person == [] for person in first)  # some people never post

    a_week_on = [sandbox.activity(42, person, now + dt.timedelta(days=7)) for person in people]
    assert a_week_on != first
    # What happened stays what happened: a week later, the last 23 days of the first read are still there.
    cutoff = (now - dt.timedelta(days=22)).date()
    for before, after in zip(first, a_week_on, strict=True):
        kept = [i for i in before if dt.datetime.fromisoformat(i.at).date() >= cutoff]
        assert [i for i in after if i in kept] == kept


def _sandbox_person_who_posted_about(keyword: str, now: dt.datetime) -> str:
    for i in range(1000):
        person = f"sbx-7-{i:05d}"
        if any(item.kind == "post" and keyword in item.text.lower() for item in sandbox.activity(7, person, now)):
            return person
    raise AssertionError("no sandbox person posts about it")


def test_a_sandbox_lead_is_read_through_the_simulation_and_its_score_moves(campaign, alice_account, settings):
    settings.SANDBOX_SEED = 7
    now = clock.now()
    campaign.target.keywords = ["forecasting"]
    campaign.target.save()
    provider_id = _sandbox_person_who_posted_about("forecasting", now)
    lead = LeadFactory(campaign=campaign, provider_id=provider_id, raw_profile={})
    leads_rescore(lead_ids=[lead.pk])
    lead.refresh_from_db()
    before = lead.score

    leads_activity_read(lead_ids=[lead.pk], now=now)

    lead.refresh_from_db()
    assert lead.score > before
    assert "forecasting" in factor(lead, "topic")["reason"]  # posted or commented, whichever is fresher
    assert [item["at"] for item in lead.activity] == sorted((item["at"] for item in lead.activity), reverse=True)
    assert views_used(alice_account) == 1  # the simulation takes a view like a visit would


def test_drafting_reads_a_stale_lead_first(campaign, alice, alice_account):
    lead = LeadFactory(campaign=campaign, owner=alice, provider_id="sbx-1-00001", raw_profile={})

    messages_draft(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.activity_read_at is not None
    assert Activity.objects.filter(lead=lead, verb="lead.activity_read").count() == 1


def test_the_demo_shows_intent_moving_scores_with_reasons(settings):
    settings.SEED_DEMO = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)

    read = Lead.objects.exclude(activity_read_at=None)
    assert read.exists() and "with their LinkedIn activity read" in out.getvalue()
    reasons = [f["reason"] for lead in read for f in lead.score_breakdown if f["factor"] in ("topic", "activity")]
    moved = [f for lead in read for f in lead.score_breakdown if f["factor"] in ("topic", "activity") and f["points"]]
    assert moved, reasons  # some demo people posted about the campaign's topics, changed jobs or engaged


def test_the_lead_page_shows_what_was_read_and_when(client, fake_unipile, li_campaign, alice):
    lead = li_lead(li_campaign, "ACo-page", owner=alice)
    fake_unipile.add_user_post("ACo-page", text="Choosing a payments partner <b>now</b>", at=clock.now())
    unread = login(client, alice).get(f"/leads/{lead.pk}/")
    assert "Not read yet" in unread.content.decode()

    leads_activity_read(lead_ids=[lead.pk], now=clock.now())
    page = client.get(f"/leads/{lead.pk}/").content.decode()

    assert "Choosing a payments partner &lt;b&gt;now&lt;/b&gt;" in page  # their words, escaped
    assert "Posted about payments today" in page  # the score's reason beside it
    assert 'href="https://www.linkedin.com/feed/update/urn:li:activity:' in page


def test_a_reaction_read_again_keeps_the_day_it_was_first_seen(fake_unipile, li_campaign):
    now = clock.now()
    lead = li_lead(li_campaign, "ACo-react")
    fake_unipile.add_user_reaction("ACo-react", post_id="urn:li:activity:9")
    leads_activity_read(lead_ids=[lead.pk], now=now)

    leads_activity_read(lead_ids=[lead.pk], now=now + dt.timedelta(days=8))

    lead.refresh_from_db()
    (reaction,) = lead.activity
    assert dt.datetime.fromisoformat(reaction["at"]) == now  # the contract gives reactions no date


def test_engagement_on_a_watched_post_is_engagement_with_us_or_that_competitor():
    now = clock.now()
    items = [
        ActivityItem(kind="comment", at=now.isoformat(), text="Agreed", post_id="p-theirs"),
        ActivityItem(kind="reaction", at="", post_id="p-ours"),
        ActivityItem(kind="reaction", at="", post_id="p-unknown"),
    ]
    owners = {"p-theirs": ("competitor", "Ledgerline"), "p-ours": ("ours", "")}

    merged = activity_merged(items, [], now, owners)

    assert [(item["post_id"], item["about"], item["who"]) for item in merged] == [
        ("p-theirs", "competitor", "Ledgerline"),
        ("p-ours", "ours", ""),
        ("p-unknown", "", ""),
    ]
    (factor_,) = intent(Signals(activity=merged, keywords=[], now=now))
    assert factor_["reason"] == "Engaged with our post today; engaged with Ledgerline's post today"


def test_without_unipile_set_up_nothing_is_read_and_no_view_is_spent(li_campaign, li_account, settings):
    settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = "", ""
    lead = li_lead(li_campaign, "ACo-unset")

    run = leads_activity_read(lead_ids=[lead.pk], now=clock.now())

    assert run.failed == 1 and run.notes == [NOT_CONFIGURED]
    assert views_used(li_account) == 0
    assert Lead.objects.get(pk=lead.pk).activity_read_at is None


def test_a_disconnected_account_stops_reading_for_the_run_and_spends_no_more_views(
    fake_unipile, li_campaign, li_account
):
    first = li_lead(li_campaign, "ACo-disconnected")  # the fake answers 401 disconnected_account
    second = li_lead(li_campaign, "ACo-next")

    run = leads_activity_read(lead_ids=[first.pk, second.pk], now=clock.now())

    assert (run.failed, run.no_account, run.read) == (1, 1, [])
    assert "cannot read LinkedIn activity now" in run.notes[0]
    assert views_used(li_account) == 3  # the first person's read only; the rest went back
    assert fake_unipile.calls("GET", POSTS.format("ACo-next")) == []


def test_a_sandbox_person_never_spends_a_real_accounts_views(fake_unipile, li_campaign, li_account):
    lead = LeadFactory(campaign=li_campaign, source="sandbox", provider_id="sbx-1-00002")

    assert leads_activity_read(lead_ids=[lead.pk], now=clock.now()).no_account == 1
    assert views_used(li_account) == 0 and fake_unipile.requests == []


def test_a_reaction_on_our_published_post_is_engagement_with_us(fake_unipile, li_campaign, li_account, alice):
    from presence.models import Post

    now = clock.now()
    Post.objects.create(
        author=Post.Author.REP, rep=alice, account=li_account, text="Month-end close in 4 days", suggestion_key="ours",
        week=now.date(), publish_at=now, status=Post.Status.PUBLISHED, provider_post_id="urn:li:activity:77",
    )  # fmt: skip
    lead = li_lead(li_campaign, "ACo-fan")
    fake_unipile.add_user_reaction("ACo-fan", post_id="urn:li:activity:77")
    fake_unipile.add_user_reaction("ACo-fan", post_id="urn:li:activity:78")  # someone else's post

    leads_activity_read(lead_ids=[lead.pk], now=now)

    lead.refresh_from_db()
    assert sorted((item["post_id"], item["about"]) for item in lead.activity) == [
        ("urn:li:activity:77", "ours"),
        ("urn:li:activity:78", ""),
    ]
    assert factor(lead, "activity")["reason"] == "Engaged with our post today"


def test_a_reaction_on_a_watched_competitors_post_is_engagement_with_that_competitor(fake_unipile, li_campaign):
    from competitors.models import Competitor, CompetitorPost

    now = clock.now()
    rival = Competitor.objects.create(name="Ledgerline", linkedin_id="10351")
    CompetitorPost.objects.create(
        competitor=rival, provider_id="7000001", social_id="urn:li:activity:7000001", posted_at=now, read_at=now
    )
    lead = li_lead(li_campaign, "ACo-rival-fan")
    fake_unipile.add_user_reaction("ACo-rival-fan", post_id="urn:li:activity:7000001")

    leads_activity_read(lead_ids=[lead.pk], now=now)

    lead.refresh_from_db()
    assert factor(lead, "activity")["reason"] == "Engaged with Ledgerline's post today"
