import datetime as dt
from collections.abc import Iterator

import factory
import pytest
from django.utils import timezone

from library.models import ContentItem
from outreach.models import SendingAccount
from presence.models import Post
from tests.factories import SendingAccountFactory
from tests.fakes.unipile_server import FakeUnipile


class ContentItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContentItem

    kind = ContentItem.Kind.CASE_STUDY
    title = factory.Sequence(lambda n: f"How Ledgerly closes its books {n}")
    url = factory.Sequence(lambda n: f"https://example.com/case-{n}")
    summary = "Ledgerly moved month-end close onto our platform and stopped chasing spreadsheets."
    facts = ["Month-end close went from 9 days to 4", "Used by 40 banks"]


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    author = Post.Author.REP
    rep = factory.LazyAttribute(lambda o: o.account.owner)
    account = factory.SubFactory(SendingAccountFactory)
    text = "Month-end close went from 9 days to 4 at Ledgerly. What slows yours down?"
    content_item = factory.SubFactory(ContentItemFactory)
    link = factory.LazyAttribute(lambda o: o.content_item.url if o.content_item else "")
    generated_by = "template"
    suggestion_key = factory.Sequence(lambda n: f"test:{n}")
    week = factory.LazyFunction(lambda: timezone.now().date())
    publish_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=1))
    status = Post.Status.PENDING_APPROVAL


@pytest.fixture
def fake_unipile(settings) -> Iterator[FakeUnipile]:
    with FakeUnipile() as fake:
        settings.UNIPILE_DSN = fake.dsn
        settings.UNIPILE_API_KEY = fake.api_key
        settings.UNIPILE_TIMEOUT_SECONDS = 2.0
        yield fake


@pytest.fixture
def li_account(alice, fake_unipile) -> SendingAccount:
    fake_unipile.add_account(account_id="acc-alice", user_id="ACo-alice")
    return SendingAccountFactory(
        owner=alice,
        channel=SendingAccount.Channel.UNIPILE,
        provider_account_id="acc-alice",
        provider_user_id="ACo-alice",
    )
