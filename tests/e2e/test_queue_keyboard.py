"""The approval queue by keyboard alone: Tab leaves a draft, Enter and Space press buttons, Back tells the truth."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import queue_drafts, sign_in, status_of

# live_server answers from another thread: the test data must be committed.
pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

FACTORY_PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user
CURRENT = re.compile(r"\bcurrent\b")

# Where focus is: the draft it sits in, and what a person would call the control.
FOCUSED = """() => {
  const el = document.activeElement;
  const item = el.closest("[data-item]");
  const name = el.labels?.[0]?.textContent.trim() || el.getAttribute("aria-label") || el.textContent.trim();
  return {item: item ? item.id : null, tag: el.tagName.toLowerCase(), name: name.replace(/\\s+/g, " ")};
}"""


def _tab_to(page: Page, name: str, *, item: str | None = None, back: bool = False, limit: int = 60) -> None:
    """Press Tab (or Shift+Tab) until the control named `name` has focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = page.evaluate(FOCUSED)
        if focused["name"] == name and (item is None or focused["item"] == item):
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_it_lets_tab_walk_through_every_control_of_the_current_draft_and_out(
    page: Page, browser_problems, alice, campaign, alice_account
):
    first, second = queue_drafts(campaign, alice, alice_account, [90, 80])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.keyboard.press("j")
    expect(page.locator(f"#item-{first.pk}")).to_have_class(CURRENT)

    seen = []
    for _ in range(30):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(FOCUSED))
        if seen[-1]["item"] != f"item-{first.pk}" and len(seen) > 1:
            break
    in_card = [(f["tag"], f["name"]) for f in seen if f["item"] == f"item-{first.pk}"]
    lead = first.lead.full_name
    for control in [
        ("input", f"Select the draft to {lead}"),
        ("a", lead),
        ("textarea", "Message"),
        ("button", "Approve"),
        ("input", "Reason for rejecting"),
        ("button", "Reject"),
        ("input", "Instruction for rewriting"),
        ("button", "Regenerate"),
        ("select", f"Snooze {lead} for"),
        ("button", "Snooze lead"),
        ("button", "Skip"),
    ]:
        assert control in in_card, f"{control} not reached by Tab: {in_card}"
    assert seen[-1]["item"] == f"item-{second.pk}"  # focus left the first draft for the next one
    expect(page.locator(f"#item-{second.pk}")).to_have_class(CURRENT)
    assert browser_problems == []


def test_enter_and_space_press_the_focused_skip_button(page: Page, browser_problems, alice, campaign, alice_account):
    first, second, third = queue_drafts(campaign, alice, alice_account, [90, 80, 70])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.keyboard.press("j")
    _tab_to(page, "Skip", item=f"item-{first.pk}")
    page.keyboard.press("Enter")
    expect(page.locator(f"#item-{second.pk}")).to_have_class(CURRENT)
    expect(page.locator("#queue-list [data-item]").last).to_have_id(f"item-{first.pk}")  # to the end, for now

    _tab_to(page, "Skip", item=f"item-{second.pk}")
    page.keyboard.press("Space")
    expect(page.locator(f"#item-{third.pk}")).to_have_class(CURRENT)
    expect(page.locator("#queue-list [data-item]").last).to_have_id(f"item-{second.pk}")
    assert [status_of(m) for m in (first, second, third)] == ["pending_approval"] * 3
    assert browser_problems == []


def test_z_then_the_keyboard_snoozes_the_lead(page: Page, browser_problems, alice, campaign, alice_account):
    first, second = queue_drafts(campaign, alice, alice_account, [90, 80])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.keyboard.press("j")
    page.keyboard.press("z")
    item = page.locator(f"#item-{first.pk}")
    snooze_for = item.get_by_label(f"Snooze {first.lead.full_name} for")
    expect(snooze_for).to_be_focused()
    page.keyboard.press("ArrowDown")  # 1 week → 2 weeks
    expect(snooze_for).to_have_value("14")
    page.keyboard.press("Tab")
    expect(item.get_by_role("button", name="Snooze lead")).to_be_focused()
    page.keyboard.press("Enter")

    expect(item.get_by_role("status")).to_have_text(re.compile(r"^Snoozed "))
    expect(page.locator(f"#item-{second.pk}")).to_have_class(CURRENT)
    first.lead.refresh_from_db()
    assert first.lead.status == "snoozed"
    assert first.lead.snoozed_until is not None
    assert browser_problems == []


def test_bulk_approve_is_reached_and_confirmed_by_keyboard(
    page: Page, browser_problems, alice, campaign, alice_account
):
    first, second, third = queue_drafts(campaign, alice, alice_account, [90, 80, 70])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    for key in ("j", "x", "j", "x"):
        page.keyboard.press(key)
    _tab_to(page, "Approve selected (2)", back=True)
    page.keyboard.press("Enter")

    dialog = page.get_by_role("dialog", name="Approve 2 drafts?")
    expect(dialog).to_be_visible()
    confirm = dialog.get_by_role("button", name="Approve 2 drafts")
    expect(confirm).to_be_focused()
    assert status_of(first) == status_of(second) == "pending_approval"  # nothing before the confirmation
    page.keyboard.press("Enter")

    expect(page.locator(".flash")).to_contain_text("Approved 2 drafts.")
    expect(page.locator("#pending-count")).to_have_text("1")
    assert [status_of(m) for m in (first, second, third)] == [
        "approved",
        "approved",
        "pending_approval",
    ]
    assert browser_problems == []


def settled(page: Page) -> None:
    """htmx has finished swapping and settling the new list, so its forms are htmx forms again."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def test_the_filters_url_holds_the_current_filters_and_back_shows_the_true_state(
    page: Page, browser_problems, bob, alice, campaign, alice_account
):
    first, second = queue_drafts(campaign, alice, alice_account, [90, 80])
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    expect(page.locator(f"#item-{first.pk}")).to_be_visible()

    page.get_by_label("Sort").select_option("oldest")
    expect(page).to_have_url(re.compile(r"/approvals/\?.*sort=oldest"))
    expect(page.locator("#queue-list [data-item]").first).to_have_id(f"item-{first.pk}")
    page.get_by_label("Rep", exact=True).select_option(str(alice.pk))
    expect(page).to_have_url(re.compile(rf"/approvals/\?(?=.*rep={alice.pk})(?=.*sort=oldest)"))
    expect(page.locator("#queue-list [data-item]").first).to_have_id(f"item-{first.pk}")
    settled(page)
    page.keyboard.press("Escape")  # out of the filter: keys typed in a select are the select's

    page.keyboard.press("j")
    page.keyboard.press("a")
    expect(page.locator(f"#item-{first.pk}").get_by_role("status")).to_have_text(re.compile(r"^Approved:"))
    assert status_of(first) == "approved"

    page.go_back()  # to "Oldest first" for every rep, as it is now: the approved draft is no longer waiting
    expect(page).to_have_url(re.compile(r"/approvals/\?(?!.*rep=\d).*sort=oldest"))
    expect(page.get_by_label("Sort")).to_have_value("oldest")
    expect(page.locator(f"#item-{second.pk}")).to_be_visible()
    expect(page.locator(f"#item-{first.pk}")).to_have_count(0)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/approvals/$"))
    expect(page.locator(f"#item-{first.pk}")).to_have_count(0)
    expect(page.locator(f"#item-{second.pk}")).to_be_visible()
    assert browser_problems == []


def test_back_after_an_approval_does_not_show_it_waiting(page: Page, browser_problems, alice, campaign, alice_account):
    first, second = queue_drafts(campaign, alice, alice_account, [90, 80])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.get_by_label("Sort").select_option("oldest")
    expect(page).to_have_url(re.compile(r"sort=oldest"))
    expect(page.locator("#queue-list [data-item]").first).to_have_id(f"item-{first.pk}")
    settled(page)
    page.keyboard.press("Escape")  # out of the filter: keys typed in a select are the select's
    page.keyboard.press("j")
    page.keyboard.press("a")
    expect(page.locator(f"#item-{first.pk}").get_by_role("status")).to_have_text(re.compile(r"^Approved:"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"/approvals/$"))
    expect(page.locator(f"#item-{first.pk}")).to_have_count(0)
    expect(page.locator("#pending-count")).to_have_text("1")
    page.go_forward()
    expect(page).to_have_url(re.compile(r"sort=oldest"))
    expect(page.locator(f"#item-{first.pk}")).to_have_count(0)
    expect(page.locator(f"#item-{second.pk}")).to_be_visible()
    assert browser_problems == []


def test_e_puts_the_caret_at_the_end_of_the_text_before_the_signature(
    page: Page, browser_problems, alice, campaign, alice_account
):
    (draft,) = queue_drafts(campaign, alice, alice_account, [90])
    hi = f"Hi {draft.lead.first_name},\n\nWould a short call next week work?"
    signed = f"{hi}\n\nBest,\nAlice Rivera"
    draft.body = draft.original_body = signed
    draft.save(update_fields=["body", "original_body"])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.keyboard.press("j")
    page.keyboard.press("e")
    body = page.locator(f"#item-{draft.pk}").get_by_label("Message")
    expect(body).to_be_focused()
    page.keyboard.type(" Or Thursday?")
    added = f"{hi} Or Thursday?\n\nBest,\nAlice Rivera"
    expect(body).to_have_value(added)

    page.keyboard.press("Escape")
    page.keyboard.press("a")
    approved = page.locator(f"#item-{draft.pk}.decided").get_by_role("status")
    expect(approved).to_have_text(re.compile(r"^Approved:"), timeout=15_000)  # a busy machine: the guardrails run again
    draft.refresh_from_db()
    assert (draft.status, draft.body) == ("approved", added)
    assert browser_problems == []


def test_u_or_the_focusable_undo_button_undoes_the_last_bulk_approval(
    page: Page, browser_problems, alice, campaign, alice_account
):
    first, second = queue_drafts(campaign, alice, alice_account, [90, 80])
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    for key in ("j", "x", "j", "x"):
        page.keyboard.press(key)
    _tab_to(page, "Approve selected (2)", back=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Approve 2 drafts")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Approved 2 drafts.")
    assert [status_of(m) for m in (first, second)] == ["approved", "approved"]

    _tab_to(page, "Undo all 2 approvals")  # reachable by Tab like any button
    page.keyboard.press("Shift+Tab")  # away from it: the shortcut works from anywhere on the page
    page.keyboard.press("u")
    expect(page.locator(".flash")).to_contain_text("Approval undone: 2 drafts are back in the queue.")
    expect(page.locator("#bulk-undo")).to_have_count(0)  # nothing left to undo
    expect(page.locator("#pending-count")).to_have_text("2")
    assert [status_of(m) for m in (first, second)] == ["pending_approval", "pending_approval"]
    assert browser_problems == []
