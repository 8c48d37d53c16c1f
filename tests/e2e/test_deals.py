"""Deals by keyboard alone in a real browser: open one on the lead page, move it across the board to Won.

Screenshots of the board and a deal page at 1280 and 390 px go to /tmp/shots/deals-*.png, to look at.
"""

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from deals.models import Deal
from leads.models import Lead
from tests.e2e.conftest import sign_in
from tests.factories import LeadFactory

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

FACTORY_PASSWORD = "pass-for-tests-1"
SHOTS = Path("/tmp/shots")
PHONE, DESK = {"width": 390, "height": 844}, {"width": 1280, "height": 900}

# Where focus is, and what a person would call the control (its label, else its text).
FOCUSED = """() => {
  const el = document.activeElement;
  const card = el.closest(".deal-card");
  const name = el.labels?.[0]?.textContent.trim() || el.getAttribute("aria-label") || el.textContent.trim();
  return {card: card ? card.id : null, name: name.replace(/\\s+/g, " ")};
}"""


def _tab_to(page: Page, name: str, *, limit: int = 150) -> None:
    """Press Tab until the control named `name` has focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED)["name"].startswith(name):
            return
    raise AssertionError(f"Tab never reached {name!r}")


def _column_of(page: Page, deal: Deal) -> str:
    return page.locator(f"#deal-{deal.pk}").evaluate(
        "(el) => el.closest('section').querySelector('h2').firstChild.textContent.trim()"
    )


def _move_by_keyboard(page: Page, deal: Deal, *, type_ahead: str | None, to: str) -> None:
    _tab_to(page, "Move to")
    assert page.evaluate(FOCUSED)["card"] == f"deal-{deal.pk}"
    if type_ahead:
        page.keyboard.type(type_ahead)  # a focused select picks the option that starts with what is typed
    _tab_to(page, "Move")
    page.keyboard.press("Enter")
    expect(page.locator("#deal-board .notice")).to_contain_text(f"is at “{to}”")
    assert _column_of(page, deal) == to
    # Focus stays with the card that moved: htmx settles the swapped board a moment after it shows.
    expect(page.locator(f"#deal-{deal.pk} :focus")).to_have_count(1)


def test_a_rep_opens_a_deal_and_takes_it_to_won_by_keyboard(page: Page, browser_problems, alice, campaign):
    lead = LeadFactory(
        campaign=campaign, owner=alice, first_name="Ines", last_name="Duarte", status=Lead.Status.REPLIED
    )
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.goto(f"/leads/{lead.pk}/")

    _tab_to(page, "Value")
    page.keyboard.type("15000")
    _tab_to(page, "Next step")
    page.keyboard.type("Demo with the CFO")
    _tab_to(page, "Open a deal")
    page.keyboard.press("Enter")
    expect(page.locator("#lead-deal")).to_contain_text("15,000.00 EUR")
    deal = Deal.objects.get(lead=lead)
    assert (deal.value, deal.next_step, deal.stage.name) == (Decimal("15000"), "Demo with the CFO", "Meeting")

    _tab_to(page, "Deals")
    page.keyboard.press("Enter")
    page.wait_for_url("**/deals/")
    page.evaluate("window.notReloaded = true")
    _move_by_keyboard(page, deal, type_ahead=None, to="Needs assessed")  # the first option: the next stage
    _move_by_keyboard(page, deal, type_ahead="Pr", to="Proposal sent")
    _move_by_keyboard(page, deal, type_ahead="W", to="Won")
    assert page.evaluate("window.notReloaded === true")  # htmx swapped the board in place each time
    deal.refresh_from_db()
    assert deal.is_closed and deal.stage.name == "Won"
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.WON
    assert browser_problems == []


def test_a_lost_move_without_a_reason_asks_for_it_in_place(page: Page, browser_problems, alice, campaign):
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Ines", status=Lead.Status.REPLIED)
    from deals.services import deal_open

    deal = deal_open(lead=lead, actor=alice, value=Decimal(10))
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.goto("/deals/")
    card = page.locator(f"#deal-{deal.pk}")
    card.get_by_label("Move to").select_option(label="Lost")
    card.get_by_role("button", name="Move").click()
    expect(page.locator(f"#deal-{deal.pk} .error")).to_contain_text("Say why the deal was lost")
    expect(page.locator(f"#move-{deal.pk}")).to_be_focused()  # back at the choice, the message read out with it
    expect(page.locator(f"#deal-{deal.pk}").get_by_label("Why lost")).to_be_visible()
    page.locator(f"#deal-{deal.pk}").get_by_label("Why lost").fill("Chose a competitor")
    page.locator(f"#deal-{deal.pk}").get_by_role("button", name="Move").click()
    expect(page.locator("#deal-board .notice")).to_contain_text("is at “Lost”")
    assert _column_of(page, deal) == "Lost"
    assert browser_problems == []


def _no_overlap(page: Page) -> None:
    boxes = page.locator(".board-column").evaluate_all("(els) => els.map((el) => el.getBoundingClientRect().toJSON())")
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
            )
            assert apart, f"columns overlap: {a} and {b}"


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["390", "1280"])
def test_the_board_and_a_deal_page_fit_the_screen(page: Page, browser_problems, alice, campaign, size):
    from deals.services import deal_move, deal_open

    deals = []
    for n, (first, last, value, currency) in enumerate(
        [("Ines", "Duarte", "15000", "EUR"), ("Maximiliane", "Oberhauser-Lindqvist", "4200.5", "USD"),
         ("Tomás", "Reyes", "980", "EUR"), ("Priya", "Raman", "23000", "GBP")]
    ):  # fmt: skip
        lead = LeadFactory(campaign=campaign, owner=alice, first_name=first, last_name=last, status=Lead.Status.REPLIED)
        deal = deal_open(lead=lead, actor=alice, value=Decimal(value), currency=currency, next_step="Send the proposal")
        deals.append(deal)
        if n == 1:
            deal_move(deal=deal, stage=deal.stage.__class__.objects.get(name="Proposal sent"), actor=alice)
        if n == 3:
            deal_move(deal=deal, stage=deal.stage.__class__.objects.get(name="Won"), actor=alice)
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size(size)
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    for name, url in {"board": "/deals/", "deal": f"/deals/{deals[1].pk}/"}.items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=SHOTS / f"deals-{name}-{size['width']}.png", full_page=True)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{url} scrolls sideways: {widths[0]} px in a {widths[1]} px window"
    page.goto("/deals/")
    _no_overlap(page)
    if size == PHONE:  # the columns stack, each the page's width
        lefts = set(
            page.locator(".board-column").evaluate_all(
                "(els) => els.map((el) => Math.round(el.getBoundingClientRect().left))"
            )
        )
        assert len(lefts) == 1
    assert browser_problems == []
