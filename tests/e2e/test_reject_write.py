"""Reject a draft and write it yourself, by keyboard alone: the rep's text lands in the queue, one key approves it."""

import re

import pytest
from playwright.sync_api import Page, expect

from outreach.models import OutreachMessage
from tests.e2e.conftest import queue_drafts, sign_in

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

FACTORY_PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user
ROUND_TRIP = 15_000  # ms: a decision is a server round trip, slow on a busy shared machine


def test_it_rejects_and_takes_the_reps_own_text_by_keyboard(
    page: Page, browser_problems, alice, campaign, alice_account
):
    [draft] = queue_drafts(campaign, alice, alice_account, [90])
    name = draft.lead.first_name
    text = f"Hi {name}, I liked your post on forecasting. Would you join our CFO panel at the Summit?"
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    # htmx wires a swapped-in draft only when it settles: widen that moment so the keys below land
    # inside it every time, as they once did by chance (the approval then reloaded the whole page).
    page.evaluate("htmx.config.defaultSettleDelay = 1500")
    item = page.locator(f"#item-{draft.pk}")
    own_text = item.get_by_label("Your own text (for “Write it myself”)")
    expect(own_text).to_be_hidden()  # asked for only once the rep chooses to write

    page.keyboard.press("j")
    page.keyboard.press("r")
    expect(item.get_by_label("Reason for rejecting")).to_be_focused()
    page.keyboard.type("Too generic")
    page.keyboard.press("Tab")
    expect(item.get_by_label("Draft again, with my reason as the instruction")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(item.get_by_label("Write it myself", exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    expect(own_text).to_be_focused()
    page.keyboard.type(text)
    page.keyboard.press("Tab")
    expect(item.get_by_role("button", name="Reject")).to_be_focused()
    page.keyboard.press("Enter")

    expect(item.locator("p[role=status]")).to_have_text(re.compile(r"^Rejected: your own text to "), timeout=ROUND_TRIP)
    expect(item.get_by_label("Message", exact=True)).to_have_value(text)
    expect(item.get_by_text("Written by hand, not a model.")).to_be_visible()
    draft.refresh_from_db()
    assert (draft.status, draft.body, draft.generated_by) == ("pending_approval", text, "rep")

    page.keyboard.press("Escape")
    page.keyboard.press("a")  # their own text: approving it is one key
    expect(item.locator("p[role=status]")).to_have_text(re.compile(r"^Approved:"), timeout=ROUND_TRIP)
    draft.refresh_from_db()
    assert (draft.status, draft.body, draft.decided_by) == (OutreachMessage.Status.APPROVED, text, alice)
    assert browser_problems == []
