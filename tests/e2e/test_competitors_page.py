"""The competitors pages in a real browser: they fit a phone, work from the keyboard, and are looked at.

Screenshots of the list and a competitor at 1280 and 390 px are saved under /tmp/screens/.
"""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from campaigns.models import Campaign
from competitors.models import Competitor, CompetitorPost
from competitors.services import competitor_summarise
from library.models import ContentItem
from salesdept import clock
from tests.competitors.test_watch import in_this_week
from tests.e2e.conftest import sign_in
from tests.factories import CampaignFactory

# live_server answers from another thread: the test data must be committed.
pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

SCREENS = Path("/tmp/screens")
FACTORY_PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
POSTS = [
    "We are launching Ledgerline Forecast today: cash forecasting for treasury teams in 14 currencies.",
    "Join our webinar with Northwind Bank on closing the books in three days, Thursday 3 December.",
    "Most CFOs still reconcile payments by hand. Automation frees a week every quarter.",
]


@pytest.fixture
def watched(bob) -> Competitor:
    rival = Competitor.objects.create(
        name="Ledgerline Payments International", linkedin_id="10351", public_identifier="ledgerline",
        notes="Cheaper than us, slower to set up; strong in Germany.", created_by=bob,
    )  # fmt: skip
    now = clock.now()
    for i, text in enumerate(POSTS):
        CompetitorPost.objects.create(
            competitor=rival, provider_id=str(i), text=text, url=f"https://www.linkedin.com/feed/update/{i}/",
            posted_at=in_this_week(0.9 - i * 0.3), read_at=now, reactions=40 - i, comments=i,
        )  # fmt: skip
    competitor_summarise(competitor=rival, day=now.date())
    ContentItem.objects.create(
        title="Case study: Brightvault", url="https://example.com/bv", summary="s",
        facts=["Brightvault Bank forecasts cash across 14 bank accounts every morning"],
    )  # fmt: skip
    CampaignFactory(owner=bob, name="CFOs in German fintech")
    return rival


def _look(page: Page, url: str, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    for size in (DESK, PHONE):
        page.set_viewport_size(size)
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=SCREENS / f"{name}_{size['width']}.png", full_page=True)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{url} scrolls sideways at {size['width']} px: {widths[0]} px wide"


def test_the_competitors_pages_fit_a_phone_and_are_saved_to_look_at(page: Page, browser_problems, bob, watched):
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    _look(page, "/competitors/", "competitors_list")
    expect(page.get_by_text("We are launching Ledgerline Forecast today")).to_be_visible()
    _look(page, f"/competitors/{watched.pk}/", "competitor_detail")
    assert browser_problems == []


def test_a_manager_adds_the_angle_with_the_keyboard_alone(page: Page, browser_problems, bob, watched):
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    page.goto(f"/competitors/{watched.pk}/")
    page.get_by_label("Add to the brief of").focus()
    page.keyboard.press("Tab")  # to "Add the angle"
    expect(page.get_by_role("button", name="Add the angle")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The angle is in the brief of CFOs in German fintech")).to_be_visible()
    brief = Campaign.objects.get(name="CFOs in German fintech").value_points
    assert brief == [
        "Unlike Ledgerline Payments International, we can show this: "
        "Brightvault Bank forecasts cash across 14 bank accounts every morning"
    ]
    assert browser_problems == []
