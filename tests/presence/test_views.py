"""The post pages through HTTP: the queue, the preview, edits with revision checks, decisions, results, /me/."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from presence.models import Engagement, Post, PostingOptIn
from tests.conftest import login
from tests.presence.conftest import PostFactory

pytestmark = pytest.mark.django_db
Status = Post.Status


@pytest.fixture
def post(alice_account):
    return PostFactory(account=alice_account, text="Month-end close went from 9 days to 4.\nWhat slows yours down?")


def edit_data(post, **overrides):
    when = timezone.now().astimezone(post.account.tz) + dt.timedelta(days=2)
    data = {
        "text": post.text,
        "publish_on": when.date().isoformat(),
        "publish_time": "10:30",
        "campaign": "",
        "revision": post.revision,
    }
    return {**data, **overrides}


def test_it_lists_a_reps_own_posts_and_a_managers_view_of_all(client, alice, dan, bob, post, dan_account):
    PostFactory(account=dan_account, text="Dan's own post about month-end")

    page = login(client, alice).get(reverse("posts:queue")).content.decode()
    assert "Month-end close went from 9 days to 4." in page and "Dan&#x27;s own post" not in page

    page = login(client, bob).get(reverse("posts:queue")).content.decode()
    assert "Month-end close went from 9 days to 4." in page and "Dan&#x27;s own post" in page
    assert login(client, dan).get(reverse("posts:detail", args=[post.pk])).status_code == 404


def test_the_detail_page_previews_the_post_as_linkedin_shows_it(client, alice, post):
    page = login(client, alice).get(reverse("posts:detail", args=[post.pk])).content.decode()

    assert "Month-end close went from 9 days to 4.<br>What slows yours down?" in page  # line breaks kept
    assert post.link in page
    assert "the offline template" in page
    assert f"{len(post.text)} / 3,000 characters" in page


def test_an_edit_saves_the_text_time_and_campaign_and_runs_the_checks_again(client, alice, post, campaign):
    login(client, alice)
    data = edit_data(post, text="Ask us about https://elsewhere.example now.", campaign=campaign.pk)

    response = client.post(reverse("posts:detail", args=[post.pk]), data)

    assert response.status_code == 302
    post.refresh_from_db()
    assert post.text == "Ask us about https://elsewhere.example now."
    assert post.original_text.startswith("Month-end close")
    assert post.campaign == campaign
    assert post.publish_at.astimezone(post.account.tz).time() == dt.time(10, 30)
    assert post.revision == 2
    assert "unknown_link" in {f["code"] for f in post.guardrail_findings if f["blocking"]}


def test_an_edit_that_names_a_prospect_who_wrote_to_us_is_blocked(client, alice, post, alice_account):
    from outreach.models import InboundMessage
    from tests.factories import LeadFactory

    lead = LeadFactory(first_name="Zofia", last_name="Kowalczyk")
    InboundMessage.objects.create(
        lead=lead, account=alice_account, provider_id="in-1", text="Pricing?", received_at=timezone.now()
    )
    login(client, alice).post(
        reverse("posts:detail", args=[post.pk]), edit_data(post, text="Zofia Kowalczyk asked us about pricing.")
    )

    post.refresh_from_db()
    assert "names_a_prospect" in {f["code"] for f in post.guardrail_findings if f["blocking"]}
    client.post(reverse("posts:approve", args=[post.pk]), {"revision": post.revision})
    post.refresh_from_db()
    assert post.status == Status.PENDING_APPROVAL


def test_a_post_with_a_blocking_finding_cannot_be_approved(client, alice, post):
    Post.objects.filter(pk=post.pk).update(
        guardrail_findings=[{"code": "banned_phrase", "message": "x", "blocking": True}]
    )
    login(client, alice).post(reverse("posts:approve", args=[post.pk]), {"revision": post.revision})

    post.refresh_from_db()
    assert post.status == Status.PENDING_APPROVAL


def test_a_stale_form_changes_nothing_and_says_why(client, alice, bob, post):
    login(client, bob).post(reverse("posts:detail", args=[post.pk]), edit_data(post, text="Bob's better text."))

    response = login(client, alice).post(
        reverse("posts:approve", args=[post.pk]), {"revision": post.revision}, follow=True
    )

    post.refresh_from_db()
    assert post.status == Status.PENDING_APPROVAL
    assert "changed since you opened it" in response.content.decode()


def test_approve_then_a_second_decision_is_refused(client, alice, bob, post):
    login(client, alice).post(reverse("posts:approve", args=[post.pk]), {"revision": 1})
    response = login(client, bob).post(reverse("posts:reject", args=[post.pk]), {"revision": 1}, follow=True)

    post.refresh_from_db()
    assert (post.status, post.decided_by) == (Status.APPROVED, alice)
    assert "Already approved" in response.content.decode()


def test_reject_keeps_it_from_publishing(client, alice, post):
    login(client, alice).post(reverse("posts:reject", args=[post.pk]), {"revision": 1})

    post.refresh_from_db()
    assert post.status == Status.REJECTED


@pytest.mark.parametrize(
    "bad",
    [
        {"text": ""},
        {"text": "x" * 3001},
        {"publish_on": "0001-01-01"},
        {"publish_on": "9999-12-31"},
        {"publish_time": "25:99"},
        {"campaign": "99999999"},
        {"revision": "-1"},
    ],
)
def test_bad_edit_input_shows_the_form_with_errors_and_keeps_the_post(client, alice, post, bad):
    response = login(client, alice).post(reverse("posts:detail", args=[post.pk]), edit_data(post, **bad))

    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    post.refresh_from_db()
    assert post.revision == 1 and post.text.startswith("Month-end close")


def test_a_needs_checking_post_is_settled_by_a_person_and_never_resent(client, alice, post):
    Post.objects.filter(pk=post.pk).update(status=Status.UNKNOWN, last_error="Unipile answered 504")
    page = login(client, alice).get(reverse("posts:detail", args=[post.pk])).content.decode()
    assert "Is it on LinkedIn?" in page

    client.post(reverse("posts:settle", args=[post.pk]), {"published": "no"})

    post.refresh_from_db()
    assert post.status == Status.FAILED  # not back to approved: nothing publishes it again on its own


def test_a_published_posts_results_are_shown_with_the_leads_they_made(client, alice, post):
    from tests.factories import LeadFactory

    lead = LeadFactory(first_name="Omar", last_name="Haddad")
    Post.objects.filter(pk=post.pk).update(status=Status.PUBLISHED, published_at=timezone.now())
    Engagement.objects.create(post=post, kind="reaction", person_provider_id="a", name="Omar Haddad", value="LIKE",
                              lead=lead, outcome="New lead")  # fmt: skip
    Engagement.objects.create(post=post, kind="comment", person_provider_id="b", name="Priya Patel",
                              value="How long did the rollout take?", outcome="No campaign chosen")  # fmt: skip

    page = login(client, alice).get(reverse("posts:detail", args=[post.pk])).content.decode()

    assert "1 reaction · 1 comment · 1 new lead" in page
    assert "Omar Haddad" in page and reverse("leads:detail", args=[lead.pk]) in page
    assert "How long did the rollout take?" in page


def test_a_rep_opts_in_and_out_of_weekly_suggestions_on_their_profile(client, alice):
    login(client, alice)
    assert "Suggest LinkedIn posts for my own profile" in client.get(reverse("profile")).content.decode()

    client.post(reverse("posts:opt_in"), {"suggest_posts": "on"})
    assert PostingOptIn.objects.get(user=alice).suggest_posts

    client.post(reverse("posts:opt_in"), {})
    assert not PostingOptIn.objects.get(user=alice).suggest_posts


def test_the_posts_pages_need_a_role(client, mallory, post):
    assert login(client, mallory).get(reverse("posts:queue")).status_code == 403
    assert "Suggest LinkedIn posts" not in client.get(reverse("profile")).content.decode()


def test_wrong_methods_are_refused(client, alice, post):
    login(client, alice)
    assert client.get(reverse("posts:approve", args=[post.pk])).status_code == 405
    assert client.post(reverse("posts:queue")).status_code == 405
