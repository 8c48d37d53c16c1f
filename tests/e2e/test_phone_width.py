"""Phone width in a real browser: every page fits 390 px, the navigation wraps, wide tables scroll in place."""

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from leads.models import Lead
from outreach.channels.base import InboundItem
from outreach.models import InboundMessage, OutreachMessage
from outreach.replies import inbound_analyse, inbound_record
from salesdept import clock
from tests.e2e.conftest import sign_in
from tests.factories import LeadFactory, MessageFactory

# live_server answers from another thread: the test data must be committed.
pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FACTORY_PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
NAV_LINKS = ["Approvals", "Leads", "Import", "Inbox", "Campaigns", "Dashboard", "Reports", "Notifications", "Admin"]

REP_PAGES = ["/approvals/", "/leads/", "/lead/", "/inbox/", "/leads/import/", "/notifications/", "/me/"]
MANAGER_PAGES = [*REP_PAGES, "/campaigns/", "/campaign/", "/campaigns/new/", "/dashboard/", "/reports/", "/settings/"]

# Left and right edges of what the header offers: each must lie inside the viewport.
NAV_TARGETS = """() => [...document.querySelectorAll('.topbar a, .topbar button')]
  .filter((el) => el.offsetParent !== null)
  .map((el) => { const box = el.getBoundingClientRect();
                 return { name: el.textContent.trim(), left: box.left, right: box.right, width: box.width }; })"""


@pytest.fixture
def world(campaign, alice, alice_account, pending) -> dict[str, Lead]:
    """A pending draft (from `pending`), and a lead who answered alice's invitation: a conversation and a reply."""
    lead = LeadFactory(
        campaign=campaign,
        owner=alice,
        first_name="Maximiliane",
        last_name="Oberhauser-Vandenberghe",
        status=Lead.Status.CONTACTED,
    )
    sent = MessageFactory(
        lead=lead,
        account=alice_account,
        status=OutreachMessage.Status.SENT,
        sent_at=clock.now() - dt.timedelta(days=1),
    )
    item = InboundItem(
        provider_id="phone-reply-1",
        sender_provider_id=lead.provider_id,
        text="Thanks for reaching out. Happy to talk about forecasting next week, Tuesday afternoon works.",
        received_at=clock.now(),
        in_reply_to_key=str(sent.idempotency_key),
    )
    assert inbound_record(account=alice_account, item=item)
    inbound_analyse(inbound_id=InboundMessage.objects.get(provider_id="phone-reply-1").pk)
    # Their LinkedIn activity as leads.intent keeps it, long words included: the lead page lists it.
    at = clock.now().isoformat()
    long_post = "Month-end close still takes us nine days: reconciliation-of-intercompany-balances is " * 3
    Lead.objects.filter(pk=lead.pk).update(
        activity_read_at=clock.now(),
        activity=[
            {"kind": "post", "at": at, "text": long_post, "url": "https://www.linkedin.com/feed/update/urn:li:1"},
            {"kind": "reaction", "at": at, "about": "competitor", "who": "Ledgerline Financial Automation"},
        ],
    )
    return {"lead": lead}


def _url(path: str, world, campaign) -> str:
    return {"/lead/": f"/leads/{world['lead'].pk}/", "/campaign/": f"/campaigns/{campaign.pk}/"}.get(path, path)


def _assert_fits_a_phone(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{url} scrolls sideways: {widths[0]} px wide in a {widths[1]} px window"
    targets = page.evaluate(NAV_TARGETS)
    assert {"Notifications", "Sign"} <= {target["name"].split()[0] for target in targets if target["name"]}
    for target in targets:
        assert target["width"] > 0 and target["left"] >= 0 and target["right"] <= PHONE["width"], (url, target)
    expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()


@pytest.mark.parametrize(
    ("who", "pages"),
    [("alice", REP_PAGES), ("bob", MANAGER_PAGES), ("carol", MANAGER_PAGES)],
)
def test_it_fits_every_page_in_a_phone_and_keeps_every_link_reachable(
    page: Page, browser_problems, request, world, campaign, who, pages
):
    user = request.getfixturevalue(who)
    page.set_viewport_size(PHONE)
    sign_in(page, email=user.email, password=FACTORY_PASSWORD)
    for path in pages:
        _assert_fits_a_phone(page, _url(path, world, campaign))
    assert browser_problems == []


def test_it_shows_every_nav_link_to_an_admin_on_a_phone(page: Page, browser_problems, carol):
    page.set_viewport_size(PHONE)
    sign_in(page, email=carol.email, password=FACTORY_PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    for name in NAV_LINKS:
        expect(nav.get_by_role("link", name=name, exact=False).first).to_be_in_viewport()
    assert browser_problems == []


def test_it_hides_a_zero_badge_and_keeps_a_count_readable(page: Page, browser_problems, alice, pending):
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    badge = page.locator("#pending-count")
    expect(badge).to_have_text("1")
    expect(badge).to_be_visible()
    colours = badge.evaluate("(el) => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]")
    assert colours == ["rgb(255, 255, 255)", "rgb(185, 28, 28)"]  # white on #b91c1c: 6.5:1

    OutreachMessage.objects.filter(pk=pending.pk).update(status=OutreachMessage.Status.REJECTED)
    page.reload()
    expect(page.locator("#pending-count")).to_have_text("0")
    # Out of sight, still read out with the Approvals link: a one-pixel box, not a red "0".
    assert page.locator("#pending-count").evaluate("(el) => el.getBoundingClientRect().width") <= 1
    assert browser_problems == []


def test_it_scrolls_a_wide_table_inside_a_labelled_region(page: Page, browser_problems, bob, world):
    page.set_viewport_size(PHONE)
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    page.goto("/leads/")
    region = page.get_by_role("region", name="Leads")
    expect(region).to_be_visible()
    assert region.get_attribute("tabindex") == "0"
    region.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert browser_problems == []


def _shoot(page: Page, name: str, url: str, size: dict) -> None:
    """A full-page screenshot to look at; on a phone, the page must not scroll sideways either."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / f"phone_width_{name}_{size['width']}.png", full_page=True)
    if size == PHONE:
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{url} scrolls sideways: {widths[0]} px wide in a {widths[1]} px window"


# The narrowest name cell of the dashboard's rate tables: a campaign's name must not stand one letter a line.
NARROWEST_RATE_NAME = (
    "() => Math.min(...[...document.querySelectorAll('#rates th[scope=row]')].map((th) => th.offsetWidth))"
)


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["390", "1280"])
def test_it_takes_screenshots_of_the_pages_reps_use_on_the_go(page: Page, browser_problems, alice, bob, world, size):
    page.set_viewport_size(size)
    ARTIFACTS.mkdir(exist_ok=True)
    print(f"screenshots in {ARTIFACTS}")
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    for name, url in {"queue": "/approvals/", "lead": f"/leads/{world['lead'].pk}/", "inbox": "/inbox/"}.items():
        _shoot(page, name, url, size)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    for name, url in {"dashboard": "/dashboard/", "leads": "/leads/"}.items():
        _shoot(page, name, url, size)
        if name == "dashboard":
            assert page.evaluate(NARROWEST_RATE_NAME) >= 80  # px: "Campaign 0" on at most two lines
    assert browser_problems == []
