"""The daily report as a manager sees it: the email from a real SMTP exchange rendered by Chromium, and the archive."""

import datetime as dt
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from leads.services import activity_record
from reporting.models import DailyReport
from reporting.reports import reports_send_due
from tests.e2e.conftest import sign_in
from tests.factories import CampaignFactory, LeadFactory
from tests.fakes.smtp_server import FakeSMTP
from tests.reporting.test_reports import NEXT_MORNING, at, history, smtp_settings  # noqa: F401

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FACTORY_PASSWORD = "pass-for-tests-1"
LONG_NAME = "Enterprise-procurement-leaders-across-the-whole-of-northern-Europe-and-the-Baltics-2026"


def emailed_html(settings, bob) -> str:
    with FakeSMTP() as smtp:
        smtp_settings(settings, smtp)
        with at(NEXT_MORNING):
            assert reports_send_due(now=NEXT_MORNING) == 1
        [received] = smtp.messages
    message = received.message
    assert message.get_body(preferencelist=("plain",)) is not None
    return message.get_body(preferencelist=("html",)).get_content()


def test_it_renders_the_emailed_report_in_chromium(page: Page, settings, history, bob):  # noqa: F811
    # A campaign with a name no line can hold, moving on the day: it must wrap, not widen the email.
    wide = CampaignFactory(owner=bob, name=LONG_NAME)
    with at(dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)):
        activity_record(verb="lead.found", lead=LeadFactory(campaign=wide))

    markup = emailed_html(settings, bob)
    page.set_viewport_size({"width": 600, "height": 900})
    page.set_content(markup)
    expect(page.get_by_role("heading", name="Sales report for 2026-03-10")).to_be_visible()
    expect(page.get_by_text(LONG_NAME)).to_be_visible()
    expect(page.get_by_text("<b>Speakers</b> & Sponsors")).to_be_visible()  # markup shown as text
    assert page.locator("b", has_text="Speakers").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report_email.png", full_page=True)

    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the email is {overflow}px wider than a 600px window"
    # The bars are drawn: Found (4 today) is two thirds of Sent (6), the longest.
    bars = page.evaluate(
        """() => [...document.querySelectorAll('td[width]')]
                 .filter(td => td.style.background.includes('37, 99, 235'))
                 .map(td => td.getBoundingClientRect().width)"""
    )
    found, sent = bars[0], max(bars)
    assert abs(found / sent - 4 / 6) < 0.05
    # Nothing is fetched: no images, fonts or stylesheets from anywhere.
    assert page.evaluate("() => performance.getEntriesByType('resource').length") == 0


def test_the_archive_shows_the_report_and_sends_it_again(page: Page, browser_problems, history, bob):  # noqa: F811
    mail.outbox = []
    with at(NEXT_MORNING):
        reports_send_due(now=NEXT_MORNING)
    report = DailyReport.objects.get()
    assert len(mail.outbox) == 1

    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="2026-03-10").click()
    expect(page.get_by_role("heading", name="Sales report for 2026-03-10", exact=True).first).to_be_visible()
    frame = page.frame_locator("iframe.report-frame")
    expect(frame.get_by_role("heading", name="Insights")).to_be_visible()
    expect(frame.get_by_text("Fintech CFOs 2026").first).to_be_visible()
    page.set_viewport_size({"width": 1100, "height": 1500})  # Chromium paints a frame only where it is seen
    page.screenshot(path=ARTIFACTS / "report_archive.png", full_page=True)

    page.get_by_role("button", name="Send again").click()
    expect(page.get_by_role("status")).to_contain_text("Sent again to bob@example.com.")
    assert len(mail.outbox) == 2
    report.refresh_from_db()
    assert report.status == "sent"
    assert browser_problems == []
