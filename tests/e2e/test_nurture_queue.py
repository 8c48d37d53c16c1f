"""A nurturing touch in a real browser: the rep sees it in the queue, knows it for one, approves it by keyboard."""

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from leads.models import Lead
from library.models import ContentItem
from library.nurture import nurtures_suggest_week
from outreach.models import OutreachMessage
from outreach.services import messages_fill
from salesdept import clock
from tests.e2e.conftest import queue_drafts, sign_in, status_of
from tests.factories import CompanyFactory, LeadFactory, MessageFactory

# live_server answers from another thread: the test data must be committed.
pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]
FACTORY_PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user


def test_the_rep_recognises_a_nurturing_touch_and_approves_it_by_keyboard(
    page: Page, browser_problems, monkeypatch, alice, campaign, alice_account
):
    monkeypatch.setattr("outreach.tasks.messages_fill_task.delay_on_commit", lambda ids: None)  # written below
    ContentItem.objects.create(
        title="Closing the books in five days",
        url="https://example.com/library/closing-the-books",
        summary="How three finance teams close the books in five days.",
        labels=["Speaker"],
    )
    lena = LeadFactory(
        campaign=campaign,
        owner=alice,
        first_name="Lena",
        status=Lead.Status.CONTACTED,
        label="Speaker",
        score=95,
        company=CompanyFactory(industry="Fintech"),
    )
    invited = clock.now() - dt.timedelta(days=45)
    MessageFactory(
        lead=lena,
        account=alice_account,
        status=OutreachMessage.Status.SENT,
        sent_at=invited,
        accepted_at=invited + dt.timedelta(days=1),
    )
    [nurture] = messages_fill(message_ids=nurtures_suggest_week(now=clock.now()))
    [other] = queue_drafts(campaign, alice, alice_account, [60])  # an ordinary first message, lower in the queue

    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    card = page.locator(f"#item-{nurture.pk}")
    expect(card.locator("[data-nurture]")).to_have_text("Nurturing: sharing “Closing the books in five days”")
    expect(page.locator(f"#item-{other.pk} [data-nurture]")).to_have_count(0)

    page.keyboard.press("a")  # nothing is current yet: this only shows the first draft, the nurturing touch
    expect(card).to_have_class(re.compile(r"\bcurrent\b"))
    assert status_of(nurture) == "pending_approval"
    page.keyboard.press("a")
    expect(card.get_by_role("status")).to_have_text(re.compile(r"^Approved:"))
    assert status_of(nurture) == "approved" and status_of(other) == "pending_approval"
    nurture.refresh_from_db()
    assert "https://example.com/library/closing-the-books" in nurture.body and nurture.decided_by == alice
    assert browser_problems == []
