"""A person makes an API token on /me/ with the keyboard, on a phone, copies it once, uses it, and revokes it."""

import pytest
from playwright.sync_api import Page, expect

from salesdept.models import ApiToken
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]
FACTORY_PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user
PHONE = {"width": 390, "height": 844}


def _fits(page: Page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths[0]} px wide in a {widths[1]} px window"


def test_a_rep_makes_uses_and_revokes_a_token_on_a_phone(page: Page, browser_problems, alice, pending):
    page.set_viewport_size(PHONE)
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.goto("/me/")
    section = page.locator("#api-tokens")
    section.get_by_label("Name").fill("Zapier")
    section.get_by_label("Read-only").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # the last day: left blank
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Create token", by keyboard
    token_box = page.get_by_role("textbox", name="Your new token")
    expect(token_box).to_be_visible()
    raw = token_box.input_value()
    assert raw.startswith("sd_")
    _fits(page)

    answer = page.request.get("/api/v1/messages", headers={"Authorization": f"Bearer {raw}"})
    assert answer.status == 200 and [m["id"] for m in answer.json()["items"]] == [pending.pk]
    refused = page.request.post(
        f"/api/v1/messages/{pending.pk}/approve",
        data={"revision": pending.revision},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert refused.status == 403  # read-only

    page.goto("/me/")
    expect(page.get_by_role("textbox", name="Your new token")).to_have_count(0)  # shown once, never again
    expect(section.get_by_role("row", name="Zapier")).to_contain_text("Read-only")
    _fits(page)
    section.get_by_role("button", name="Revoke Zapier").click()
    expect(page.get_by_text("Token “Zapier” revoked")).to_be_visible()
    assert ApiToken.objects.get(user=alice).revoked_at is not None
    assert page.request.get("/api/v1/leads", headers={"Authorization": f"Bearer {raw}"}).status == 401
    assert browser_problems == []


def test_the_docs_page_fits_a_phone_and_lists_every_operation(page: Page, browser_problems, alice):
    page.set_viewport_size(PHONE)
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", name="POST /api/v1/messages/{pk}/approve")).to_be_visible()
    expect(page.get_by_role("link", name="/api/v1/schema")).to_be_visible()
    _fits(page)
    assert browser_problems == []
