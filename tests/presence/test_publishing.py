"""A post is published once, at its time, within its account's hours and daily cap, over real HTTP."""

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import Activity
from outreach.sending import STUCK_AFTER
from presence.models import Post
from presence.publishing import post_publish, posts_dispatch, posts_mark_stuck_unknown
from tests.factories import SendingAccountFactory
from tests.presence.conftest import PostFactory

pytestmark = pytest.mark.django_db
Status = Post.Status


def test_it_publishes_an_approved_post_through_unipile_once(fake_unipile, li_account):
    post = PostFactory(account=li_account, status=Status.APPROVED)

    assert post_publish(post_id=post.pk) == "published"
    assert post_publish(post_id=post.pk) == "not_due"  # a second task finds nothing to do

    (call,) = fake_unipile.calls("POST", "/api/v1/posts")
    assert call["form"] == {"account_id": "acc-alice", "text": post.text, "external_link": post.link}
    post.refresh_from_db()
    assert post.status == Status.PUBLISHED
    assert post.provider_post_id in fake_unipile.posts
    assert post.attempts == 1


def test_a_company_post_goes_as_the_organisation(fake_unipile, li_account):
    post = PostFactory(account=li_account, status=Status.APPROVED, author=Post.Author.COMPANY, as_organization="98765")

    post_publish(post_id=post.pk)

    (call,) = fake_unipile.calls("POST", "/api/v1/posts")
    assert call["form"]["as_organization"] == "98765"


def test_a_post_waiting_for_approval_or_its_time_is_not_published(fake_unipile, li_account):
    waiting = PostFactory(account=li_account, status=Status.PENDING_APPROVAL)
    later = PostFactory(account=li_account, status=Status.APPROVED, publish_at=timezone.now() + dt.timedelta(hours=2))

    assert posts_dispatch(now=timezone.now()) == []
    assert post_publish(post_id=waiting.pk) == "not_due"
    assert post_publish(post_id=later.pk) == "not_due"
    assert not fake_unipile.calls("POST", "/api/v1/posts")


def test_outside_working_hours_it_waits(fake_unipile, alice):
    now = timezone.now()
    closed_today = [d for d in range(7) if d != now.astimezone(dt.UTC).weekday()]
    account = SendingAccountFactory(
        owner=alice, channel="unipile", provider_account_id="acc-alice", working_days=closed_today
    )
    fake_unipile.add_account(account_id="acc-alice")
    post = PostFactory(account=account, status=Status.APPROVED)

    assert posts_dispatch(now=now) == []
    assert post_publish(post_id=post.pk) == "closed"
    assert not fake_unipile.calls("POST", "/api/v1/posts")


def test_the_daily_cap_moves_the_next_post_to_the_next_working_day(fake_unipile, li_account, settings):
    settings.POSTS_DAILY_CAP = 1
    first, second = PostFactory.create_batch(2, account=li_account, status=Status.APPROVED)

    assert post_publish(post_id=first.pk) == "published"
    assert post_publish(post_id=second.pk) == "cap"

    assert len(fake_unipile.calls("POST", "/api/v1/posts")) == 1
    second.refresh_from_db()
    assert second.status == Status.APPROVED
    assert second.publish_at.astimezone(li_account.tz).date() > timezone.now().astimezone(li_account.tz).date()


def test_a_timeout_after_the_request_left_goes_to_needs_checking_and_is_never_resent(fake_unipile, li_account):
    fake_unipile.post_outcome = "timeout"  # LinkedIn got it; the answer was lost
    post = PostFactory(account=li_account, status=Status.APPROVED)

    assert post_publish(post_id=post.pk) == "unknown"
    fake_unipile.post_outcome = None
    assert posts_dispatch(now=timezone.now()) == []
    assert post_publish(post_id=post.pk) == "not_due"

    assert len(fake_unipile.calls("POST", "/api/v1/posts")) == 1
    post.refresh_from_db()
    assert post.status == Status.UNKNOWN
    assert "Look before publishing again" in post.last_error
    assert Activity.objects.filter(verb="post.unknown").count() == 1


def test_a_refusal_that_changed_nothing_is_tried_again_later(fake_unipile, li_account):
    fake_unipile.post_outcome = "ACo-provider-error"  # 500 provider_error: refused before anything was done
    post = PostFactory(account=li_account, status=Status.APPROVED)

    assert post_publish(post_id=post.pk) == "transient"

    post.refresh_from_db()
    assert post.status == Status.APPROVED
    assert post.publish_at > timezone.now()


def test_a_restricted_account_fails_the_post_without_retrying(fake_unipile, li_account):
    fake_unipile.post_outcome = "ACo-feature"
    post = PostFactory(account=li_account, status=Status.APPROVED)

    post_publish(post_id=post.pk)

    post.refresh_from_db()
    assert post.status == Status.FAILED
    assert "feature_not_subscribed" in post.last_error


def test_a_publish_left_sending_by_a_dead_worker_becomes_needs_checking(fake_unipile, li_account):
    now = timezone.now()
    post = PostFactory(account=li_account, status=Status.SENDING, sending_started_at=now - STUCK_AFTER / 2)

    assert posts_mark_stuck_unknown(now=now) == 0  # its worker may still be on it
    assert posts_mark_stuck_unknown(now=now + STUCK_AFTER) == 1

    post.refresh_from_db()
    assert post.status == Status.UNKNOWN
    assert not fake_unipile.calls("POST", "/api/v1/posts")


def test_the_sandbox_publishes_to_its_outbox(alice_account, settings):
    post = PostFactory(account=alice_account, status=Status.APPROVED)

    assert post_publish(post_id=post.pk) == "published"

    post.refresh_from_db()
    assert post.provider_post_id == f"sandbox-post-{post.idempotency_key}"
    assert str(post.idempotency_key) in settings.SANDBOX_OUTBOX.read_text()
