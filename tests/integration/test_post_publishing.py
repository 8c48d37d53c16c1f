"""A post is published exactly once: racing workers on PostgreSQL, and a worker killed mid-publish."""

import datetime as dt
import os
import signal
from collections import Counter

import pytest
from django.utils import timezone

from outreach.models import SendingAccount
from outreach.sending import STUCK_AFTER
from presence.models import Post
from presence.publishing import post_publish, posts_mark_stuck_unknown
from presence.tasks import post_publish_task
from tests.factories import SendingAccountFactory
from tests.fakes.unipile_server import FakeUnipile
from tests.integration.conftest import wait_for
from tests.integration.test_concurrency import THREADS, run_together, zone_at_midday
from tests.presence.conftest import PostFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Status = Post.Status


@pytest.fixture
def fake(settings):
    with FakeUnipile() as fake:
        settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = fake.dsn, fake.api_key
        fake.add_account(account_id="acc-alice", user_id="ACo-alice")
        yield fake


def _account(owner) -> SendingAccount:
    return SendingAccountFactory(
        owner=owner,
        channel=SendingAccount.Channel.UNIPILE,
        provider_account_id="acc-alice",
        timezone=zone_at_midday(timezone.now()),  # the local day cannot roll over mid-test
    )


def test_many_workers_racing_for_one_post_publish_it_once(fake, alice):
    post = PostFactory(account=_account(alice), status=Status.APPROVED)

    outcomes = run_together(THREADS, lambda _: post_publish(post_id=post.pk))

    assert Counter(outcomes)["published"] == 1
    assert len(fake.calls("POST", "/api/v1/posts")) == 1
    post.refresh_from_db()
    assert (post.status, post.attempts) == (Status.PUBLISHED, 1)


def test_racing_workers_never_pass_the_daily_post_cap(fake, alice, settings):
    settings.POSTS_DAILY_CAP = 2
    account = _account(alice)
    posts = PostFactory.create_batch(6, account=account, status=Status.APPROVED)

    run_together(THREADS, lambda i: [post_publish(post_id=p.pk) for p in posts[i % 6 :] + posts[: i % 6]])

    assert len(fake.calls("POST", "/api/v1/posts")) == 2
    assert Post.objects.filter(status=Status.PUBLISHED).count() == 2
    assert Post.objects.filter(status=Status.APPROVED, publish_at__gt=timezone.now()).count() == 4


@pytest.mark.worker
def test_a_worker_killed_while_publishing_never_publishes_twice(fake, alice, celery_worker_process):
    fake.post_outcome, fake.hang_seconds = "hang", 120  # LinkedIn has the post; the answer never comes back
    post = PostFactory(account=_account(alice), status=Status.APPROVED)
    worker = celery_worker_process(beat=False, UNIPILE_DSN=fake.dsn, UNIPILE_API_KEY=fake.api_key)

    post_publish_task.delay(post.pk)
    wait_for("the publish to reach Unipile", lambda: fake.calls("POST", "/api/v1/posts"), timeout=60)
    os.killpg(worker.process.pid, signal.SIGKILL)  # parent, pool and all: no warm shutdown
    worker.process.wait(timeout=10)

    fake.post_outcome = None
    assert Post.objects.get(pk=post.pk).status == Status.SENDING
    assert post_publish(post_id=post.pk) == "not_due"  # the next worker does not take a `sending` post
    assert posts_mark_stuck_unknown(now=timezone.now() + STUCK_AFTER + dt.timedelta(minutes=1)) == 1
    assert post_publish(post_id=post.pk) == "not_due"

    assert len(fake.calls("POST", "/api/v1/posts")) == 1
    current = Post.objects.get(pk=post.pk)
    assert (current.status, current.attempts) == (Status.UNKNOWN, 1)
    assert "look at the LinkedIn page" in current.last_error
