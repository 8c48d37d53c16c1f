"""A rep asks for an action in plain words on a lead's page, in a real browser, and finds it in My tasks."""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from leads.models import Task
from salesdept import clock
from tests.e2e.conftest import sign_in
from tests.factories import LeadFactory

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

FACTORY_PASSWORD = "pass-for-tests-1"


def test_a_task_in_plain_words_is_dated_in_place_and_listed_in_my_tasks(page: Page, browser_problems, alice, campaign):
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena")
    due = clock.today("UTC") + dt.timedelta(days=3)  # alice's sending account works in UTC
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.goto(f"/leads/{lead.pk}/")
    page.evaluate("window.notReloaded = true")

    page.get_by_label("Ask for an action").fill("in 3 days send her the pricing PDF")
    page.get_by_role("button", name="Add task").click()
    tasks = page.locator("#lead-tasks")
    expect(tasks).to_contain_text(f"Task due {due:%a} {due.day} {due:%b %Y}")
    expect(tasks).to_contain_text("in 3 days send her the pricing PDF")
    assert page.evaluate("window.notReloaded === true")  # htmx swapped the list in place
    assert Task.objects.get(lead=lead).due_on == due

    page.get_by_role("link", name="My tasks").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("in 3 days send her the pricing PDF")
    expect(row).to_contain_text("Lena")
    row.get_by_role("button", name="Done").click()
    expect(page.locator("body")).to_contain_text("is done.")
    expect(page.locator("tbody")).to_contain_text("No open tasks")
    assert Task.objects.get(lead=lead).status == Task.Status.DONE
    assert browser_problems == []
