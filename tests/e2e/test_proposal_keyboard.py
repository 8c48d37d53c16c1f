"""A rep goes from a conversation to a proposal in the approval queue with the keyboard alone, in a real browser.

Every control is reached with Tab and pressed with Enter (or typed into): "Draft needs summary", an added
point, "Create proposal", "Preview the PDF", "Send the proposal". Screenshots at 1280 and 390 px go to
/tmp/shots/proposal-*.png.
"""

import io
from pathlib import Path

import pypdf
import pytest
from playwright.sync_api import Locator, Page, expect

from outreach.models import OutreachMessage
from proposals.models import NeedsSummary, Proposal
from tests.e2e.conftest import sign_in
from tests.proposals.builders import close_offer, conversation_lead

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

FACTORY_PASSWORD = "pass-for-tests-1"
SHOTS = Path("/tmp/shots")
WIDTHS = {"desktop": 1280, "phone": 390}


def tab_to(page: Page, target: Locator, *, limit: int = 250) -> None:
    """Press Tab until `target` has the focus: it must be reachable by keyboard, in the page's order."""
    handle = target.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(el) => document.activeElement === el", handle):
            return
    raise AssertionError(f"Tab never reached {target}")


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"proposal-{name}-{label}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} at {width} px scrolls sideways by {overflow} px"
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})


def test_a_rep_takes_a_conversation_to_a_queued_proposal_by_keyboard(
    page: Page, browser_problems, alice, alice_account, campaign
):
    lead = conversation_lead(campaign=campaign, owner=alice, account=alice_account)
    offer = close_offer()
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)

    page.goto(f"/leads/{lead.pk}/")
    shoot(page, "lead")
    tab_to(page, page.get_by_role("button", name="Draft needs summary"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/proposals/needs/*/")
    expect(page.get_by_role("heading", name="What Lena Park needs")).to_be_visible()
    expect(page.locator("blockquote").first).to_contain_text("it takes us 9 days")  # her words, quoted
    shoot(page, "needs")

    # A point of the rep's own, typed in the empty row: Tab to its fields, choose Timeline, type, save.
    new_row = page.locator("fieldset", has_text="A new point")
    tab_to(page, new_row.get_by_label("Need", exact=True))
    page.keyboard.press("End")  # the last need: decision makers
    tab_to(page, new_row.get_by_label("What they need"))
    page.keyboard.type("Signed off by the CFO above £20k")
    page.keyboard.press("Tab")
    page.keyboard.type("Our CFO Maria Lopez signs off on anything above £20k")
    tab_to(page, page.get_by_role("button", name="Save the summary"))
    page.keyboard.press("Enter")
    expect(page.locator(".flash-success")).to_contain_text("Summary saved")
    needs = NeedsSummary.objects.get(lead=lead)
    mine = [p for p in needs.points if p["by"] == "rep"]
    assert [(p["field"], p["flag"]) for p in mine] == [("decision_makers", "")]
    expect(page.locator(".needs")).to_contain_text("Written by the rep")

    tab_to(page, page.get_by_role("button", name="Create proposal"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/proposals/*/")
    proposal = Proposal.objects.get(lead=lead)
    assert proposal.offer == offer

    intro = page.get_by_label("Introduction")
    tab_to(page, intro)
    page.keyboard.press("Control+End")
    page.keyboard.type(" We read your notes on NetSuite closely.")
    tab_to(page, page.get_by_role("button", name="Save"))
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_contain_text("Proposal saved.")
    proposal.refresh_from_db()
    assert proposal.intro.endswith("We read your notes on NetSuite closely.")
    shoot(page, "edit")

    preview = page.get_by_role("link", name="Preview the PDF")
    tab_to(page, preview)
    pdf = page.request.get(preview.get_attribute("href"))  # what Enter opens in a new tab
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.body())).pages)
    assert "We read your notes on NetSuite closely." in " ".join(text.split())
    assert "36,500.00 GBP" in text

    tab_to(page, page.get_by_role("button", name="Send the proposal"))
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_contain_text("waits in the approval queue")
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.QUEUED
    assert proposal.message.status == OutreachMessage.Status.PENDING_APPROVAL
    shoot(page, "queued")

    page.goto("/approvals/")
    item = page.locator(f"#item-{proposal.message.pk}")
    expect(item).to_contain_text("Proposal")
    expect(item.get_by_role("link", name="Preview the PDF")).to_be_visible()
    expect(item.get_by_role("button", name="Regenerate")).to_have_count(0)
    shoot(page, "queue")
    assert browser_problems == []
