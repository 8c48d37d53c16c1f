"""Reactions and comments on our posts are read back; the people become leads once, within profile-view limits."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from leads.models import Activity, Lead
from leads.services import lead_rule_score, leads_qualify
from outreach.limits import daily_cap
from outreach.models import SendCounter
from presence.engagement import WAITING_FOR_VIEW, posts_read_results
from presence.models import Engagement, Post
from tests.factories import CampaignFactory, LeadFactory
from tests.fakes.unipile_server import search_person
from tests.presence.conftest import PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(fake_unipile, li_account, bob):
    campaign = CampaignFactory(owner=bob)
    post = PostFactory(account=li_account, status=Post.Status.PUBLISHED, campaign=campaign)
    from presence.publishing import post_publish

    Post.objects.filter(pk=post.pk).update(status=Post.Status.APPROVED)
    assert post_publish(post_id=post.pk) == "published"
    post.refresh_from_db()
    return post


def engage(fake, post, reactors=(1, 2), commenters=(4,)):
    for i in reactors:
        fake.add_reaction(post_id=post.provider_post_id, person=search_person(i))
    for i in commenters:
        fake.add_comment(post_id=post.provider_post_id, person=search_person(i), text="How long did the rollout take?")


def test_people_who_react_or_comment_become_leads_of_the_posts_campaign(fake_unipile, published):
    engage(fake_unipile, published)

    assert posts_read_results(now=timezone.now()) == 3

    leads = Lead.objects.filter(source="post_engagement").order_by("provider_id")
    assert [lead.provider_id for lead in leads] == [search_person(i)["id"] for i in (1, 2, 4)]
    commenter = leads.get(provider_id=search_person(4)["id"])
    assert (commenter.first_name, commenter.last_name) == (
        search_person(4)["first_name"],
        search_person(4)["last_name"],
    )
    assert all(lead.campaign_id == published.campaign_id for lead in leads)
    assert all(lead.insight.startswith("Engaged with our post") for lead in leads)
    assert Activity.objects.filter(verb="lead.engaged").count() == 3
    (lookup,) = fake_unipile.calls("GET", f"/api/v1/users/{search_person(4)['id']}")
    assert lookup["query"]["notify"] == "false"
    published.refresh_from_db()
    assert published.results_read_at is not None


def test_reading_again_or_engaging_twice_makes_no_duplicate(fake_unipile, published):
    engage(fake_unipile, published, reactors=(1, 2), commenters=(1,))  # person 1 reacted and commented
    posts_read_results(now=timezone.now())
    fake_unipile.add_reaction(post_id=published.provider_post_id, person=search_person(3))

    assert posts_read_results(now=timezone.now()) == 1  # only the new reaction

    assert Engagement.objects.count() == 4
    assert Lead.objects.filter(source="post_engagement").count() == 3
    assert Lead.objects.filter(provider_id=search_person(1)["id"]).count() == 1


def test_someone_we_know_already_is_not_a_second_lead(fake_unipile, published, alice):
    person = search_person(2)
    known = LeadFactory(
        campaign=published.campaign, owner=alice, provider_id="", linkedin_url=person["public_profile_url"]
    )
    engage(fake_unipile, published, reactors=(2,), commenters=())

    posts_read_results(now=timezone.now())

    assert Lead.objects.count() == 1
    engagement = Engagement.objects.get()
    assert engagement.lead == known
    assert Activity.objects.filter(verb="lead.engaged", lead=known).exists()


def test_commenters_wait_for_a_profile_view_when_todays_are_used_up(fake_unipile, published, li_account):
    now = timezone.now()
    day = now.astimezone(li_account.tz).date()
    limit = daily_cap(li_account, SendCounter.Kind.PROFILE_VIEW, day)
    SendCounter.objects.create(account=li_account, kind=SendCounter.Kind.PROFILE_VIEW, day=day, count=limit)
    engage(fake_unipile, published, reactors=(1,), commenters=(4, 5))

    posts_read_results(now=now)

    assert not [c for c in fake_unipile.requests if c["path"].startswith("/api/v1/users/")]  # no view past the limit
    assert Lead.objects.filter(source="post_engagement").count() == 1  # the reaction came with a name
    waiting = Engagement.objects.filter(kind="comment")
    assert {e.outcome for e in waiting} == {WAITING_FOR_VIEW}

    posts_read_results(now=now + dt.timedelta(days=1))  # a new day, new views

    assert Lead.objects.filter(source="post_engagement").count() == 3
    assert SendCounter.objects.get(account=li_account, kind="profile_view", day=day + dt.timedelta(days=1)).count == 2


def test_without_a_chosen_campaign_engagement_is_shown_but_makes_no_lead(fake_unipile, published):
    Post.objects.filter(pk=published.pk).update(campaign=None)
    engage(fake_unipile, published)

    posts_read_results(now=timezone.now())

    assert Engagement.objects.count() == 3
    assert not Lead.objects.exists()
    assert not fake_unipile.calls("GET", f"/api/v1/users/{search_person(4)['id']}")  # no view spent for nothing


def test_engaging_adds_a_reason_to_the_score_and_leads_the_why_line(fake_unipile, published):
    engage(fake_unipile, published, reactors=(1,), commenters=())
    posts_read_results(now=timezone.now())
    lead = Lead.objects.get(source="post_engagement")

    factors = {f["factor"]: f for f in lead_rule_score(lead).breakdown}
    assert factors["engaged_post"]["points"] == 10
    assert factors["engaged_post"]["reason"].startswith("Engaged with our post: reacted to our post on")

    leads_qualify(lead_ids=[lead.pk])

    lead.refresh_from_db()
    assert lead.insight.startswith("Engaged with our post")
    assert "engaged_post" in {f["factor"] for f in lead.score_breakdown}


def test_the_sandbox_simulates_engagement_deterministically(alice_account, bob, settings):
    settings.SANDBOX_REPLY_DELAY_SECONDS = 60
    campaign = CampaignFactory(owner=bob)
    # Which people engage is a function of the seed and the post's key, so the key is fixed here: a random one
    # drew, about once in 1,700 runs, two namesakes at one company, who are one lead by design (leads.dedupe).
    key = uuid.UUID("6b0f3c1e-2d4a-4f5b-9c7e-1a2b3c4d5e6f")
    post = PostFactory(account=alice_account, status=Post.Status.APPROVED, campaign=campaign, idempotency_key=key)
    from presence.publishing import post_publish

    post_publish(post_id=post.pk)
    now = timezone.now()
    assert posts_read_results(now=now) == 0  # nobody has seen it yet

    later = now + dt.timedelta(minutes=5)
    post.refresh_from_db()
    Post.objects.filter(pk=post.pk).update(published_at=now - dt.timedelta(minutes=5))
    first = posts_read_results(now=later)

    assert 3 <= first <= 6
    assert Lead.objects.filter(source="post_engagement").count() == first
    assert posts_read_results(now=later) == 0
