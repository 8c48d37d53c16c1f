"""The webhook pages in a real browser: added by keyboard alone, readable at 390 px with long URLs and a log."""

import pytest
from playwright.sync_api import Page, expect

from hooks.delivery import delivery_attempt
from hooks.models import Delivery, Endpoint
from hooks.services import endpoint_create
from leads.lifecycle import Trigger, lead_transition
from leads.models import Lead
from tests.e2e.conftest import sign_in
from tests.e2e.test_phone_width import FACTORY_PASSWORD, PHONE, _assert_fits_a_phone
from tests.factories import LeadFactory
from tests.fakes.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    with WebhookReceiver() as fake:
        yield fake


def test_a_manager_adds_an_endpoint_with_the_keyboard_and_sees_the_secret_once(
    page: Page, browser_problems, bob, receiver
):
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    page.goto("/settings/webhooks/")
    page.get_by_label("URL").focus()
    page.keyboard.type(receiver.url)
    page.keyboard.press("Tab")  # to the first event
    page.keyboard.press("Space")
    page.get_by_label("Reply received (with its intent)").focus()
    page.keyboard.press("Space")
    page.get_by_label("Description").focus()
    page.keyboard.type("CRM sync")
    page.keyboard.press("Enter")

    secret = page.get_by_role("textbox", name="Secret").input_value()
    assert secret.startswith("whsec_")
    assert Endpoint.objects.get().events == ["lead.created", "reply.received"]
    # Shown in the answer to the POST only (never stored in a session, where it would sit unencrypted).
    page.goto("/settings/webhooks/")
    expect(page.get_by_role("textbox", name="Secret")).to_have_count(0)
    assert secret not in page.content()
    assert browser_problems == []


def test_the_webhook_pages_fit_a_phone(page: Page, browser_problems, bob, alice, campaign, receiver):
    long_url = receiver.url + "/a-rather-long-path/that-keeps-going/and-going?team=sales&env=production"
    endpoint, receiver.secret = endpoint_create(actor=bob, url=long_url, events=["lead.status_changed"])
    receiver.answer_with(503)
    lead = LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.NEW)
    lead_transition(lead=lead, to=Lead.Status.QUALIFIED, trigger=Trigger.QUALIFICATION)
    delivery_attempt(delivery_id=Delivery.objects.get().pk)

    page.set_viewport_size(PHONE)
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    for url in ("/settings/webhooks/", f"/settings/webhooks/{endpoint.pk}/", "/settings/"):
        _assert_fits_a_phone(page, url)
    page.goto(f"/settings/webhooks/{endpoint.pk}/")
    expect(page.get_by_text("HTTP 503")).to_be_visible()
    assert browser_problems == []
