"""The post pages in a real browser: they fit a phone, work from the keyboard, and are photographed for a look."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from presence.models import Engagement, Post
from tests.e2e.conftest import sign_in
from tests.factories import CampaignFactory, LeadFactory
from tests.presence.conftest import ContentItemFactory, PostFactory

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]
FACTORY_PASSWORD = "pass-for-tests-1"
SCREENS = Path("/tmp/screens")
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
TEXT = (
    "Month-end close went from 9 days to 4 at Ledgerly.\n\n"
    "The change that mattered most was not a new tool: it was one place where every entity's numbers land "
    "the same day. What slows your close down?"
)


@pytest.fixture
def posts(alice, alice_account, bob) -> dict[str, Post]:
    item = ContentItemFactory(title="How Ledgerly closed its books in 4 days")
    campaign = CampaignFactory(owner=bob, name="FinTech Leaders Summit 2027")
    pending = PostFactory(account=alice_account, content_item=item, text=TEXT)
    published = PostFactory(
        account=alice_account, content_item=item, campaign=campaign, status=Post.Status.PUBLISHED,
        text="Five signs your forecast is out of date, from what finance teams told us this quarter.",
        published_at=timezone.now() - dt.timedelta(days=2), provider_post_id="sandbox-post-1",
        results_read_at=timezone.now() - dt.timedelta(hours=1),
    )  # fmt: skip
    people = [("Omar", "Haddad", "VP Finance at Northwind Payments"), ("Priya", "Patel", "CFO at Piccolo Pay")]
    for n, (first, last, headline) in enumerate(people):
        lead = LeadFactory(campaign=campaign, first_name=first, last_name=last, headline=headline, owner=alice)
        Engagement.objects.create(
            post=published, kind="reaction", person_provider_id=f"p{n}", name=f"{first} {last}", headline=headline,
            value="LIKE", lead=lead, outcome="New lead",
        )  # fmt: skip
    Engagement.objects.create(
        post=published, kind="comment", person_provider_id="p9", name="Jonas Müller",
        headline="Head of Finance at Ledgerly",
        value="We hit exactly this last quarter. How long did the rollout take?",
        outcome="Known person",
    )  # fmt: skip
    return {"pending": pending, "published": published}


def _fits(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{url} scrolls sideways: {widths[0]} px wide in a {widths[1]} px window"


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["390", "1280"])
def test_the_post_pages_fit_and_are_photographed(page: Page, browser_problems, alice, bob, posts, size):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(size)
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    shots = {
        "post_queue": "/approvals/posts/",
        "post_pending": f"/approvals/posts/{posts['pending'].pk}/",
        "post_results": f"/approvals/posts/{posts['published'].pk}/",
    }
    for name, url in shots.items():
        _fits(page, url) if size == PHONE else page.goto(url)
        page.screenshot(path=SCREENS / f"{name}_{size['width']}.png", full_page=True)
    expect(page.get_by_text("2 reactions · 1 comment · 2 new leads")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    for name, url in {"library": "/library/", "library_add": "/library/add/"}.items():
        _fits(page, url) if size == PHONE else page.goto(url)
        page.screenshot(path=SCREENS / f"{name}_{size['width']}.png", full_page=True)
    assert browser_problems == []


def test_a_rep_approves_a_post_with_the_keyboard_alone(page: Page, browser_problems, alice, posts):
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.goto(f"/approvals/posts/{posts['pending'].pk}/")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == "Approve":
            break
    else:
        pytest.fail("Tab never reached the Approve button")
    page.keyboard.press("Enter")
    page.wait_for_url("**/approvals/posts/")
    expect(page.get_by_text("Post approved")).to_be_visible()
    posts["pending"].refresh_from_db()
    assert posts["pending"].status == Post.Status.APPROVED
    assert browser_problems == []
