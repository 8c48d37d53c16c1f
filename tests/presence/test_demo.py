"""`make run`'s demo seed shows posts: a content library, Alice's suggestions, a published post with its results."""

import pytest
from django.core.management import call_command

from library.models import ContentItem
from presence.models import Engagement, Post

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_a_library_suggestions_and_a_published_post_with_engagement(settings, capsys):
    settings.SEED_DEMO, settings.SANDBOX_REPLY_DELAY_SECONDS = True, 180

    call_command("seed_demo", leads=3)

    assert ContentItem.objects.filter(is_active=True).count() == 3
    posts = Post.objects.filter(rep__username="alice.rep@example.com")
    assert posts.count() == settings.POSTS_PER_WEEK
    published = posts.get(status=Post.Status.PUBLISHED)
    assert published.provider_post_id.startswith("sandbox-post-")
    assert Engagement.objects.filter(post=published).count() >= 3
    assert Engagement.objects.filter(post=published, lead__source="post_engagement").exists()
    assert posts.filter(status=Post.Status.PENDING_APPROVAL).count() == settings.POSTS_PER_WEEK - 1

    call_command("seed_demo", leads=3)  # a second start adds nothing
    assert Post.objects.count() == settings.POSTS_PER_WEEK
    assert "post suggestions for Alice" in capsys.readouterr().out
