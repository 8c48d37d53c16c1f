"""The approval queue in a real browser: sign in, decide, watch the queue and its badge follow."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from leads.models import Activity
from outreach.models import OutreachMessage
from salesdept.management.commands.seed_demo import DEMO_PASSWORD
from tests.e2e.conftest import queue_drafts, sign_in, status_of

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

    # By default the reason goes back to the model: the lead is not left with a rejected first step.
    expect(page.locator(f"#item-{pending.pk}.decided").get_by_role("status")).to_have_text(
        re.compile(r"^Rejected: drafting again to ")
    )
    expect(page.locator("#pending-count")).to_have_text("0")
    page.reload()
    expect(page.locator(f"#item-{pending.pk}")).to_have_count(0)
    expect(page.get_by_text("No drafts are waiting for you.")).to_be_visible()
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.GENERATING
    assert pending.instruction == "Too generic: mention her forecasting posts."
    assert browser_problems == []


def test_keyboard_moves_and_approves_and_the_first_key_never_approves_unseen(
    page: Page, browser_problems, alice, campaign, alice_account
):
    first, second, third = queue_drafts(campaign, alice, alice_account, [90, 80, 70])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.keyboard.press("a")  # nothing is current yet: this only shows the first draft
    expect(page.locator(f"#item-{first.pk}")).to_have_class(re.compile(r"\bcurrent\b"))
    assert status_of(first) == "pending_approval"

    page.keyboard.press("j")
    expect(page.locator(f"#item-{second.pk}")).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("k")
    page.keyboard.press("j")
    page.keyboard.press("a")

    expect(page.locator(f"#item-{second.pk}").get_by_role("status")).to_have_text(re.compile(r"^Approved:"))
    expect(page.locator(f"#item-{third.pk}")).to_have_class(re.compile(r"\bcurrent\b"))  # moved on by itself
    expect(page.locator("#pending-count")).to_have_text("2")
    assert [status_of(m) for m in (first, second, third)] == [
        "pending_approval",
        "approved",
        "pending_approval",
    ]

    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "queue-shortcuts.png")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    assert browser_problems == []


def test_an_edit_past_the_limit_turns_the_counter_red_and_the_approve_button_refuses(
    page: Page, browser_problems, alice, pending
):
    original = pending.body
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    item = page.locator(f"#item-{pending.pk}")
    counter = item.locator("output.counter")
    expect(counter).to_have_text(f"{len(original)} / 300 characters")

    page.keyboard.press("j")
    page.keyboard.press("e")
    expect(item.get_by_label("Message")).to_be_focused()
    page.keyboard.type(" " + "I would value your view on rolling forecasts. " * 6)
    over = len(original) + 1 + 46 * 6 - 300
    expect(counter).to_have_text(f"{300 + over} / 300 characters: {over} over the limit")
    expect(item.get_by_role("button", name="Approve")).to_be_disabled()
    page.screenshot(path=ARTIFACTS / "queue-over-limit.png")

    page.keyboard.press("Escape")  # out of the text box: keys are shortcuts again
    page.keyboard.press("a")
    page.wait_for_timeout(300)
    assert status_of(pending) == "pending_approval"
    pending.refresh_from_db()
    assert pending.body == original

    page.keyboard.press("e")
    page.keyboard.press("Control+a")
    page.keyboard.type("Hi Lena, short and to the point: may I connect?")
    expect(item.get_by_role("button", name="Approve")).to_be_enabled()
    item.get_by_role("button", name="Approve").click()
    expect(item.get_by_role("status")).to_have_text(re.compile(r"^Approved:"))
    pending.refresh_from_db()
    assert (pending.status, pending.body) == ("approved", "Hi Lena, short and to the point: may I connect?")
    assert browser_problems == []


def test_reject_with_a_reason_from_the_keyboard(page: Page, browser_problems, alice, campaign, alice_account):
    first, second = queue_drafts(campaign, alice, alice_account, [90, 80])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.keyboard.press("j")
    page.keyboard.press("r")
    expect(page.locator(f"#item-{first.pk}").get_by_label("Reason for rejecting")).to_be_focused()
    page.keyboard.type("Wrong person: she left the company.")
    page.keyboard.press("Enter")
    expect(page.locator(f"#item-{first.pk}").get_by_role("status")).to_have_text(
        re.compile(r"^Rejected: drafting again")
    )
    expect(page.locator(f"#item-{second.pk}")).to_have_class(re.compile(r"\bcurrent\b"))
    first.refresh_from_db()
    assert (first.status, first.instruction) == ("generating", "Wrong person: she left the company.")
    assert status_of(second) == "pending_approval"
    assert browser_problems == []


def test_bulk_approve_names_the_count_before_it_approves(page: Page, browser_problems, alice, campaign, alice_account):
    first, second, third = queue_drafts(campaign, alice, alice_account, [90, 80, 70])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    for key in ("j", "x", "j", "j", "x"):
        page.keyboard.press(key)
    bulk = page.get_by_role("button", name="Approve selected (2)")
    expect(bulk).to_be_enabled()
    bulk.click()

    dialog = page.get_by_role("dialog", name="Approve 2 drafts?")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".bulk-names li")).to_have_count(2)
    page.screenshot(path=ARTIFACTS / "queue-bulk-confirm.png")
    assert status_of(first) == status_of(third) == "pending_approval"  # nothing before the confirmation

    dialog.get_by_role("button", name="Approve 2 drafts").click()
    expect(page.locator(".flash")).to_contain_text("Approved 2 drafts.")
    expect(page.locator("#pending-count")).to_have_text("1")
    assert [status_of(m) for m in (first, second, third)] == [
        "approved",
        "pending_approval",
        "approved",
    ]
    assert browser_problems == []


def test_undo_brings_an_approval_back_before_it_is_sent(page: Page, browser_problems, alice, campaign, alice_account):
    first, second = queue_drafts(campaign, alice, alice_account, [90, 80])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.keyboard.press("j")
    page.keyboard.press("a")
    expect(page.locator(f"#item-{first.pk}").get_by_role("status")).to_have_text(re.compile(r"^Approved:"))
    expect(page.locator("#pending-count")).to_have_text("1")
    assert status_of(first) == "approved"

    page.keyboard.press("u")  # the current draft is the next one: u undoes the last approval
    item = page.locator(f"#item-{first.pk}")
    expect(item.locator(".notice")).to_have_text(re.compile(r"^Approval undone"))
    expect(item.get_by_role("button", name="Approve")).to_be_visible()
    expect(page.locator("#pending-count")).to_have_text("2")
    assert status_of(first) == "pending_approval"
    assert Activity.objects.filter(verb="message.approval_undone", message=first, actor=alice).count() == 1
    assert browser_problems == []


def test_the_second_person_on_an_item_sees_who_decided_and_nothing_is_doubled(
    browser, live_server, browser_problems, alice, bob, pending
):
    pages = {}
    for user in (alice, bob):
        context = browser.new_context(base_url=live_server.url)
        pages[user] = context.new_page()
        sign_in(pages[user], email=user.email, password=FACTORY_PASSWORD)
        expect(pages[user].locator(f"#item-{pending.pk}")).to_be_visible()

    pages[bob].locator(f"#item-{pending.pk}").get_by_role("button", name="Approve").click()
    expect(pages[bob].locator(f"#item-{pending.pk}").get_by_role("status")).to_have_text(re.compile(r"^Approved:"))

    alices = pages[alice].locator(f"#item-{pending.pk}")
    alices.get_by_label("Reason for rejecting").fill("Not a fit")
    alices.get_by_role("button", name="Reject").click()
    expect(alices.get_by_role("status")).to_have_text(re.compile(r"^Already approved by Bob .* Nothing was changed\.$"))
    expect(pages[alice].locator("#pending-count")).to_have_text("0")
    pages[alice].screenshot(path=ARTIFACTS / "queue-conflict.png")

    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("approved", bob)
    assert Activity.objects.filter(message=pending, verb__in=["message.approved", "message.rejected"]).count() == 1
    for page in pages.values():
        page.context.close()


def test_a_cards_rewrite_and_snooze_controls_keep_their_height_beside_the_reject_form(
    page: Page, browser_problems, alice, pending
):
    """At desk width regenerate and snooze sit beside the reject form; they stretched to its height."""
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    item = page.locator(f"#item-{pending.pk}")
    reason = item.get_by_label("Reason for rejecting").bounding_box()
    for control in (item.get_by_label("Instruction for rewriting"), item.get_by_role("button", name="Regenerate")):
        box = control.bounding_box()
        assert abs(box["height"] - reason["height"]) <= 4, (box, reason)
        assert box["y"] < reason["y"] + reason["height"]  # beside the reason, not under the form
    assert browser_problems == []
