"""An out-of-office reply in a real browser: the lead page says which words set the date, and the
rep corrects it with the keyboard alone, at desk and phone widths."""

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from leads.models import Activity, Lead
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
def away_lead(campaign, alice, alice_account) -> Lead:
    """Alice's lead answered her invitation with an auto-reply: back on Monday."""
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", status=Lead.Status.CONTACTED)
    sent = MessageFactory(
        lead=lead,
        account=alice_account,
        status=OutreachMessage.Status.SENT,
        sent_at=clock.now() - dt.timedelta(days=2),
    )
    item = InboundItem(
        provider_id="auto-reply-1",
        sender_provider_id=lead.provider_id,
        text="Thanks for your message. I am out of the office, back on Monday.",
        received_at=clock.now(),
        in_reply_to_key=str(sent.idempotency_key),
    )
    assert inbound_record(account=alice_account, item=item)
    inbound_analyse(inbound_id=InboundMessage.objects.get(provider_id="auto-reply-1").pk)
    lead.refresh_from_db()
    return lead


def next_monday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=7 - day.weekday())


def tab_to(page: Page, element_id: str, *, limit: int = 80) -> None:
    """Press Tab until the element has focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} never took focus after {limit} presses of Tab")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_rep_sees_the_words_read_and_corrects_the_date_by_keyboard(
    page: Page, browser_problems, alice, away_lead, width
):
    received_on = clock.today("UTC")
    read = next_monday_after(received_on)
    assert (away_lead.status, away_lead.snoozed_until) == (Lead.Status.SNOOZED, read)

    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.goto(f"/leads/{away_lead.pk}/")
    snooze = page.locator("#lead-snooze")
    expect(snooze).to_contain_text(f"Snoozed until {read:%a} {read.day} {read:%b %Y}")
    expect(snooze).to_contain_text("read from “back on Monday” in their reply")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"lead_snooze_{width}.png", full_page=True)

    corrected = read + dt.timedelta(days=14)  # they wrote again: back a fortnight later
    tab_to(page, "id_until")
    expect(page.locator("#id_until")).to_have_value(f"{read.day} {read:%b %Y}")  # as every page writes dates
    page.keyboard.press("Control+a")
    page.keyboard.type(f"{corrected.day} {corrected:%B %Y}")
    page.keyboard.press("Enter")  # submits the form the field is in

    expect(snooze).to_contain_text(f"Snoozed until {corrected:%a} {corrected.day} {corrected:%b %Y}")
    expect(snooze).to_contain_text(re.compile(r"set by Alice Rivera"))
    away_lead.refresh_from_db()
    assert (away_lead.status, away_lead.snoozed_until) == (Lead.Status.SNOOZED, corrected)
    assert Activity.objects.filter(lead=away_lead, verb="lead.snoozed", actor=alice).exists()
    assert browser_problems == []
