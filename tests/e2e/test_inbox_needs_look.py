"""An unsure reading in a real browser: the rep finds it under "Needs a look" and settles it by keyboard."""

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from leads.models import Lead
from outreach.channels.base import InboundItem
from outreach.models import InboundMessage, OutreachMessage
from outreach.replies import inbound_analyse, inbound_record
from salesdept import clock
from tests.e2e.conftest import sign_in
from tests.factories import LeadFactory, MessageFactory

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FACTORY_PASSWORD = "pass-for-tests-1"


@pytest.fixture
def unsure_reply(settings, campaign, alice, alice_account) -> InboundMessage:
    """Read offline, "Sounds interesting" is a guess (confidence 0.5): it waits for alice."""
    settings.OPENAI_API_KEY = ""
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", status=Lead.Status.CONTACTED)
    sent = MessageFactory(
        lead=lead, account=alice_account, status=OutreachMessage.Status.SENT, sent_at=clock.now() - dt.timedelta(days=1)
    )
    item = InboundItem(
        provider_id="unsure-1",
        sender_provider_id=lead.provider_id,
        text="Sounds interesting, happy to chat next week.",
        received_at=clock.now(),
        in_reply_to_key=str(sent.idempotency_key),
    )
    assert inbound_record(account=alice_account, item=item)
    inbound = InboundMessage.objects.get(provider_id="unsure-1")
    inbound_analyse(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    assert inbound.needs_look
    return inbound


@pytest.mark.parametrize("width", [1280, 390])
def test_the_rep_confirms_an_unsure_reply_with_the_keyboard(page: Page, browser_problems, alice, unsure_reply, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.goto("/inbox/")
    expect(page.get_by_role("link", name="Needs a look (1)")).to_be_visible()
    page.get_by_role("link", name="Needs a look (1)").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/inbox/?look=1")
    form = page.get_by_role("form", name="Needs a look", exact=False)
    expect(form).to_contain_text("nothing was done to the lead yet")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"inbox_needs_look_{width}.png", full_page=True)

    intent = form.get_by_label("Intent")
    intent.focus()
    intent.select_option("interested")  # what a keyboard user picks with the arrow keys
    page.keyboard.press("Tab")
    expect(form.get_by_role("button", name="Confirm and act")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("link", name="Needs a look (0)")).to_be_visible()
    unsure_reply.refresh_from_db()
    assert (unsure_reply.needs_look, unsure_reply.intent) == (False, "interested")
    assert Lead.objects.get(pk=unsure_reply.lead_id).status == Lead.Status.INTERESTED
    assert browser_problems == []
