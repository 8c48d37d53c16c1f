"""The approval queue in a real browser: sign in, decide, watch the queue and its badge follow."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from outreach.models import OutreachMessage
from salesdept.management.commands.seed_demo import DEMO_PASSWORD
from tests.e2e.conftest import sign_in

# live_server answers from another thread: the test data must be committed.
pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DEMO_REP = "alice.rep@example.com"
FACTORY_PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user


def test_it_lets_the_demo_rep_approve_a_draft_that_then_leaves_the_queue(page: Page, browser_problems):
    call_command("seed_demo", stdout=io.StringIO())
    sign_in(page, email=DEMO_REP, password=DEMO_PASSWORD)
    items = page.locator("#queue-list article.item")
    expect(items.first).to_be_visible()
    badge = page.locator("#pending-count")
    waiting = int(badge.inner_text())
    assert waiting == items.count() >= 2
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "queue.png", full_page=True)

    first = items.first
    item_id = first.get_attribute("id")
    first.get_by_role("button", name="Approve").click()

    expect(page.locator(f"#{item_id}.decided").get_by_role("status")).to_have_text(re.compile(r"^Approved:"))
    expect(badge).to_have_text(str(waiting - 1))
    page.reload()
    expect(page.locator("#queue-list article.item")).to_have_count(waiting - 1)
    expect(page.locator(f"#{item_id}")).to_have_count(0)
    expect(page.locator("#pending-count")).to_have_text(str(waiting - 1))
    message = OutreachMessage.objects.select_related("decided_by").get(pk=int(item_id.removeprefix("item-")))
    assert message.status == OutreachMessage.Status.APPROVED
    assert message.decided_by.email == DEMO_REP
    assert browser_problems == []


def test_it_rejects_a_draft_with_the_reps_reason(page: Page, browser_problems, alice, pending):
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    item = page.locator(f"#item-{pending.pk}")
    expect(page.locator("#pending-count")).to_have_text("1")

    item.get_by_label("Reason for rejecting").fill("Too generic: mention her forecasting posts.")
    item.get_by_role("button", name="Reject").click()

    expect(page.locator(f"#item-{pending.pk}.decided").get_by_role("status")).to_have_text(
        re.compile(r"^Rejected the draft to ")
    )
    expect(page.locator("#pending-count")).to_have_text("0")
    page.reload()
    expect(page.locator(f"#item-{pending.pk}")).to_have_count(0)
    expect(page.get_by_text("No drafts are waiting for you.")).to_be_visible()
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.REJECTED
    assert pending.reject_reason == "Too generic: mention her forecasting posts."
    assert pending.decided_by == alice
    assert browser_problems == []


def test_it_refuses_a_connection_note_edited_past_300_characters(page: Page, browser_problems, alice, pending):
    original = pending.body
    too_long = "Hi Lena, " + "I read your post on rolling forecasts and would value your view. " * 5
    assert len(too_long) > 300
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    item = page.locator(f"#item-{pending.pk}")

    item.get_by_label("Message").fill(too_long)
    item.get_by_role("button", name="Approve").click()

    error = item.get_by_role("alert")
    expect(error).to_be_visible()
    expect(error).to_have_text(
        f"Fix this before approving: {len(too_long.strip())} characters; this channel allows 300."
    )
    expect(item).not_to_have_class(re.compile(r"\bdecided\b"))
    expect(item.get_by_label("Message")).to_have_value(too_long.strip())
    expect(page.locator("#pending-count")).to_have_text("1")
    page.reload()
    expect(page.locator(f"#item-{pending.pk}")).to_be_visible()
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.PENDING_APPROVAL
    assert pending.body == original
    assert pending.decided_by is None
    assert browser_problems == []
