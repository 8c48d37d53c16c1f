"""The queue's "N drafts waiting" follows the rep's decisions in the browser, as the badge does."""

import re

import pytest
from playwright.sync_api import Page, expect

from leads.models import Lead
from tests.e2e.conftest import queue_drafts, sign_in, status_of
from tests.e2e.test_queue_keyboard import FACTORY_PASSWORD, settled

# live_server answers from another thread: the test data must be committed.
pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def test_it_updates_the_header_after_a_keyboard_approval_and_its_undo(
    page: Page, browser_problems, alice, campaign, alice_account
):
    first, *_ = queue_drafts(campaign, alice, alice_account, [90, 80, 70])
    (snoozed,) = queue_drafts(campaign, alice, alice_account, [60])
    Lead.objects.filter(pk=snoozed.lead_id).update(status=Lead.Status.SNOOZED)  # not waiting: not counted
    header, badge = page.locator("#queue-total"), page.locator("#pending-count")

    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    expect(header).to_have_text("3 drafts waiting.")
    page.get_by_label("Channel").select_option("connection_note")  # the header counts what the filters keep
    expect(page).to_have_url(re.compile(r"kind=connection_note"))
    expect(header).to_have_text("3 drafts waiting that match these filters.")
    settled(page)
    page.keyboard.press("Escape")  # out of the filter: keys typed in a select are the select's

    asked = []
    page.on(
        "request", lambda request: asked.append(request.url.split("?")[0].removeprefix(page.url.split("/approvals")[0]))
    )
    page.keyboard.press("j")
    page.keyboard.press("a")
    expect(page.locator(f"#item-{first.pk}").get_by_role("status")).to_have_text(re.compile(r"^Approved:"))
    expect(header).to_have_text("2 drafts waiting that match these filters.")
    expect(badge).to_have_text("2")
    assert status_of(first) == "approved"
    assert sorted(asked) == [f"/approvals/{first.pk}/approve/", "/approvals/total/"]  # the badge came with the total

    page.keyboard.press("u")
    expect(page.locator(f"#item-{first.pk}").locator(".notice")).to_have_text(re.compile(r"^Approval undone"))
    expect(header).to_have_text("3 drafts waiting that match these filters.")
    expect(badge).to_have_text("3")
    assert browser_problems == []
