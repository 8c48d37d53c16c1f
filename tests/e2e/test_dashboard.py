"""The manager's dashboard in a real browser: the trend chart is drawn, and redrawn when a filter changes."""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from reporting.metrics import bump
from reporting.models import Alert
from tests.e2e.conftest import sign_in
from tests.factories import CampaignFactory, LeadFactory, MessageFactory

# live_server answers from another thread: the test data must be committed.
pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FACTORY_PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user

# Pixels of the canvas that are not transparent: a drawn chart has axes, labels and lines.
PAINTED = """(canvas) => {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return painted;
}"""


@pytest.fixture
def month(bob, alice, dan, alice_account, dan_account):
    """A month of sends and answers over two campaigns, a waiting draft, an open alert."""
    campaigns = [
        CampaignFactory(name="Fintech CFOs", owner=bob, accounts=[alice_account]),
        CampaignFactory(name="Summit speakers", owner=bob, accounts=[dan_account]),
    ]
    today = timezone.localdate()
    for i in range(30):
        day = today - dt.timedelta(days=i)
        for j, (campaign, rep, account, label) in enumerate(
            zip(campaigns, (alice, dan), (alice_account, dan_account), ("Speaker", "Sponsor"), strict=True)
        ):
            dims = {"campaign_id": campaign.pk, "rep_id": rep.pk, "account_id": account.pk, "label": label}
            version = "gpt-4o-mini" if j else "template"
            sent = (4 + (i * 7 + j) % 6) // (j + 1) + 1
            bump(day=day, stage="found", n=sent * 3, campaign_id=campaign.pk)
            bump(day=day, stage="qualified", n=sent * 2, campaign_id=campaign.pk)
            for stage, n in [("drafted", sent + 1), ("approved", sent), ("sent", sent), ("accepted", sent // 2)]:
                bump(day=day, stage=stage, n=n, version=version, **dims)
            bump(day=day, stage="replied", n=(i + j) % 3, version=version, **dims)
            bump(day=day, stage="positive", n=int(i % 5 == 0), **dims)
            bump(day=day, stage="send_error", n=i % 4 // 3, **dims)
            bump(day=day, stage="llm", n=sent * 3, cost=Decimal("0.0021") * sent * 3, campaign_id=campaign.pk)
    bump(day=today, stage="meeting", n=2, campaign_id=campaigns[0].pk, rep_id=alice.pk)
    MessageFactory(lead=LeadFactory(campaign=campaigns[0], owner=alice), campaign=campaigns[0], account=alice_account)
    Alert.objects.create(
        kind=Alert.Kind.ERROR_RATE,
        key=str(dan_account.pk),
        message="Dan sandbox: 12% of sends failed in the last hour",
        opened_at=timezone.now(),
    )
    return campaigns


def test_it_draws_the_trend_and_redraws_it_for_new_filters(page: Page, browser_problems, bob, month):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    page.goto("/dashboard/")

    expect(page.get_by_role("alert", name="Alerts")).to_contain_text("12% of sends failed")
    canvas = page.locator("#trend-chart")
    expect(canvas).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('trend-chart'))")
    assert canvas.evaluate(PAINTED) > 2000
    points = page.evaluate("() => Chart.getChart(document.getElementById('trend-chart')).data.labels.length")
    assert points == 30
    # The numbers under the chart, folded away until asked for.
    expect(page.locator("#trend-table")).to_be_hidden()
    page.get_by_text("The numbers per day").click()
    expect(page.locator("#trend-table")).to_be_visible()
    page.get_by_text("The numbers per day").click()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)

    # A filter change swaps the body through htmx: a new canvas, drawn again, the URL kept.
    page.get_by_label("Trend").select_option("7")
    expect(page.get_by_role("heading", name="Last 7 days")).to_be_visible()
    expect(page).to_have_url(re.compile(r"trend=7"))
    page.wait_for_function("() => Chart.getChart(document.getElementById('trend-chart'))?.data.labels.length === 7")
    assert page.locator("#trend-chart").evaluate(PAINTED) > 2000

    page.get_by_label("Campaign", exact=True).select_option(label="Summit speakers")
    expect(page.locator(".dash-period")).to_contain_text("Summit speakers")
    expect(page.locator("#funnel-table tbody tr")).to_have_count(1)
    assert browser_problems == []


def test_it_reads_without_javascript(browser, live_server, bob, month):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    page.goto("/accounts/login/?next=/dashboard/")
    page.get_by_label("Email").fill(bob.email)
    page.get_by_label("Password").fill(FACTORY_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")

    expect(page.locator("#trend-chart")).to_be_hidden()  # no empty box where the chart would be
    page.get_by_text("The numbers per day").click()
    expect(page.locator("#trend-table tbody tr")).to_have_count(30)
    page.get_by_label("Trend").select_option("7")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#trend-table tbody tr")).to_have_count(7)
    context.close()
