"""The dashboard's pipeline in a real browser: readable at 1280 and 390 px, and clean for axe.

Screenshots of both sections go to /tmp/shots/pipeline-*.png (and tests/artifacts/) for a person to look at.
"""

import datetime as dt
from decimal import Decimal
from importlib import import_module
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from deals.models import DealStage
from deals.services import deal_move, deal_open
from leads.models import Lead
from leads.services import activity_record
from outreach.models import OutreachMessage
from salesdept import clock
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import AXE, BLOCKING
from tests.factories import CampaignFactory, LeadFactory, MessageFactory

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

FACTORY_PASSWORD = "pass-for-tests-1"
SHOTS = [Path("/tmp/shots"), Path(__file__).resolve().parents[1] / "artifacts"]
AXE_SECTIONS = """async () => {
  const results = await axe.run({ include: [["#pipeline"], ["#conversion"]] }, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({ id: v.id, impact: v.impact, at: v.nodes.map((n) => n.target.join(" ")) }));
}"""


@pytest.fixture
def deals(bob, alice, dan, alice_account, dan_account):
    """Replies and deals of the last days: open at three stages in EUR and USD, two won, one lost."""
    campaigns = [
        CampaignFactory(name="Fintech CFOs in the DACH region, spring outreach", owner=bob, accounts=[alice_account]),
        CampaignFactory(name="Summit speakers", owner=bob, accounts=[dan_account]),
    ]
    # A transactional test empties every table after it, the stages the migration seeded too.
    for name, position, outcome, probability in import_module("deals.migrations.0002_default_stages").STAGES:
        DealStage.objects.get_or_create(
            name=name, defaults={"position": position, "outcome": outcome, "probability": probability}
        )
    stage = {s.name: s for s in DealStage.objects.all()}
    plan = [  # campaign, rep, value, currency, stages after the first, lost reason
        (0, alice, "12000", "EUR", ["Needs assessed", "Proposal sent"], ""),
        (0, alice, "4500", "EUR", [], ""),
        (1, dan, "8000", "USD", ["Negotiation"], ""),
        (1, dan, "2500", "EUR", ["Won"], ""),
        (0, alice, "30000", "EUR", ["Needs assessed", "Won"], ""),
        (1, dan, "6000", "EUR", ["Lost"], "Budget moved to next year after the reorganisation of the finance team"),
    ]
    now = clock.now()
    for i, (c, rep, value, currency, moves, reason) in enumerate(plan):
        campaign, account = campaigns[c], (alice_account, dan_account)[c]
        lead = LeadFactory(
            campaign=campaign, owner=rep, label=("Speaker", "Sponsor")[i % 2], status=Lead.Status.CONTACTED
        )
        message = MessageFactory(
            lead=lead, campaign=campaign, account=account, status=OutreachMessage.Status.SENT, generated_by="template"
        )
        activity_record(verb="message.sent", lead=lead, message=message)
        activity_record(verb="reply.received", lead=lead, message=message)
        deal = deal_open(lead=lead, actor=rep, value=Decimal(value), currency=currency, now=now - dt.timedelta(days=5))
        for name in moves:
            deal = deal_move(deal=deal, stage=stage[name], actor=rep, reason=reason, now=now)
    return campaigns


@pytest.mark.parametrize("width", [1280, 390])
def test_the_pipeline_reads_at_every_width_and_passes_axe(page: Page, browser_problems, bob, deals, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    page.goto("/dashboard/")

    pipeline = page.locator("#pipeline")
    expect(pipeline.get_by_role("heading", name="Pipeline")).to_be_visible()
    expect(page.locator("#pipeline-stages tfoot")).to_contain_text("16,500.00 EUR")
    expect(page.locator("#pipeline-stages tfoot")).to_contain_text("8,000.00 USD")
    expect(page.locator("#pipeline-closed")).to_contain_text("32,500.00 EUR")
    expect(page.locator("#pipeline-lost-reasons")).to_contain_text("Budget moved to next year")
    expect(page.locator("#conversion-campaign tbody tr")).to_have_count(2)
    # Nothing pushes the page sideways: wide tables scroll inside their own region.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    for folder in SHOTS:
        folder.mkdir(parents=True, exist_ok=True)
        pipeline.screenshot(path=folder / f"pipeline-{width}.png")
        page.locator("#conversion").screenshot(path=folder / f"pipeline-conversion-{width}.png")
    # From the section's CSV link, Tab reaches the table's scroll region: a wide table scrolls by keyboard.
    pipeline.get_by_role("link", name="CSV").first.focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("region", name="Open deals by stage")).to_be_focused()

    page.evaluate(AXE)
    problems = [v for v in page.evaluate(AXE_SECTIONS) if v["impact"] in BLOCKING]
    assert problems == []
    assert browser_problems == []
