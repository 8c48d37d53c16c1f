"""Weekly post suggestions: who gets them, when, in the team's voice, and what the guardrails block."""

import datetime as dt

import pytest
from django.utils import timezone

from outreach.models import InboundMessage
from presence.guardrails import POST_LIMIT
from presence.models import Post, PostingOptIn
from presence.suggestions import posts_suggest_due, suggestions_due
from salesdept.models import PromptOverride
from tests.factories import LeadFactory
from tests.fakes.openai_server import json_reply
from tests.presence.conftest import ContentItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_now(settings):
    """The weekly run is due at this instant, whatever day the suite runs on."""
    now = timezone.now().astimezone(dt.UTC)
    settings.POSTS_SUGGEST_WEEKDAY, settings.POSTS_SUGGEST_HOUR, settings.POSTS_PER_WEEK = now.weekday(), now.hour, 2
    return now


@pytest.fixture
def opted_in(alice, alice_account):
    PostingOptIn.objects.create(user=alice, suggest_posts=True)
    return alice


@pytest.fixture
def company(settings, bob):
    from tests.factories import SendingAccountFactory

    account = SendingAccountFactory(owner=bob, name="Company page admin")
    settings.POSTS_COMPANY_ACCOUNT_ID, settings.POSTS_COMPANY_ORGANIZATION_ID = account.pk, "98765"
    return account


def codes(post: Post) -> set[str]:
    return {f["code"] for f in post.guardrail_findings if f["blocking"]}


def test_it_is_due_from_the_configured_weekday_and_hour_to_the_end_of_that_week(settings):
    settings.POSTS_SUGGEST_WEEKDAY, settings.POSTS_SUGGEST_HOUR = 2, 9  # Wednesday 09:00 UTC
    wednesday = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    assert not suggestions_due(wednesday.replace(hour=8, minute=59))
    assert suggestions_due(wednesday.replace(hour=9))
    assert suggestions_due(wednesday + dt.timedelta(days=4, hours=23))  # Sunday night: a missed run catches up
    assert not suggestions_due(wednesday - dt.timedelta(days=1, hours=-12))  # Tuesday


def test_the_template_suggests_the_weekly_number_for_the_company_and_each_opted_in_rep(
    due_now, opted_in, company, dan, dan_account
):
    items = ContentItemFactory.create_batch(3)
    ContentItemFactory(is_active=False, title="Retired page")

    made = posts_suggest_due(now=due_now)

    assert len(made) == 4  # 2 for the company page, 2 for alice; dan did not opt in
    assert {(p.author, p.rep_id) for p in made} == {("company", company.owner_id), ("rep", opted_in.pk)}
    company_posts = [p for p in made if p.author == Post.Author.COMPANY]
    assert {p.account_id for p in company_posts} == {company.pk}
    assert {p.as_organization for p in company_posts} == {"98765"}
    for post in made:
        assert post.status == Post.Status.PENDING_APPROVAL
        assert post.generated_by == "template"  # labelled: no model is configured
        assert post.content_item in items and post.link == post.content_item.url
        assert post.content_item.summary in post.text
        assert len(post.text) <= POST_LIMIT
        assert not codes(post), post.guardrail_findings
        assert post.publish_at > due_now
    assert posts_suggest_due(now=due_now + dt.timedelta(hours=1)) == []  # the hourly tick adds nothing more
    assert Post.objects.count() == 4


def test_nothing_is_suggested_without_an_active_library_item(due_now, opted_in):
    ContentItemFactory(is_active=False)
    assert posts_suggest_due(now=due_now) == []


def test_the_model_writes_in_the_team_voice_from_the_library_and_anonymous_reply_themes(
    llm, due_now, opted_in, alice_account
):
    PromptOverride.objects.create(name="draft", brand_voice="Plain and warm, no hype", banned_phrases=["synergy"])
    item = ContentItemFactory()
    lead = LeadFactory(first_name="Zofia", last_name="Kowalczyk")
    InboundMessage.objects.create(
        lead=lead, account=alice_account, provider_id="in-9", received_at=due_now - dt.timedelta(days=2),
        text="Zofia Kowalczyk here: what does pricing look like for 3 entities?", intent="requesting_info",
    )  # fmt: skip
    good = {"text": "Month-end close went from 9 days to 4 at Ledgerly.", "facts_used": [item.facts[0]]}
    llm.queue(json_reply(good), json_reply(good))

    made = posts_suggest_due(now=due_now)

    prompt = llm.requests[0]["json"]["messages"][1]["content"]
    assert "Plain and warm, no hype" in prompt and "synergy" in prompt
    assert item.facts[1] in prompt and item.summary in prompt
    assert "details and pricing" in prompt  # the theme of the reply
    assert "Zofia" not in prompt and "Kowalczyk" not in prompt  # never the prospect's name
    assert all(p.generated_by not in ("", "template") for p in made)  # the model's name, not the template
    assert made[0].text == good["text"]
    assert not codes(made[0])
    assert made[0].llm_call is not None


def test_the_guardrails_block_banned_phrases_links_invented_numbers_and_names(llm, due_now, opted_in, alice_account):
    PromptOverride.objects.create(name="draft", banned_phrases=["circle back"])
    ContentItemFactory()
    lead = LeadFactory(first_name="Zofia", last_name="Kowalczyk")
    InboundMessage.objects.create(
        lead=lead, account=alice_account, provider_id="in-9", received_at=due_now - dt.timedelta(days=1),
        text="Pricing?", intent="requesting_info",
    )  # fmt: skip
    bad = {
        "text": "Like Zofia Kowalczyk, 90 banks love it. Let's circle back: https://elsewhere.example/offer",
        "facts_used": [],
    }
    llm.queue(json_reply(bad), json_reply(bad))

    post = posts_suggest_due(now=due_now)[0]

    assert codes(post) == {"banned_phrase", "unknown_link", "unsupported_claim", "names_a_prospect"}
    messages = " ".join(f["message"] for f in post.guardrail_findings)
    assert "90" in messages and "elsewhere.example" in messages


def test_a_model_post_over_linkedins_limit_falls_back_to_the_labelled_template(llm, due_now, opted_in):
    ContentItemFactory()
    too_long = {"text": "word " * 700, "facts_used": []}  # 3,500 characters
    llm.queue(*[json_reply(too_long)] * 4)

    post = posts_suggest_due(now=due_now)[0]

    assert post.generated_by == "template"
    assert len(post.text) <= POST_LIMIT
