"""The CRM pages in a real browser: connect, test, Sync now and the log by keyboard alone; a phone's width."""

import importlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import CRMConnection, SyncRecord, SyncRun
from crm.sync import sync_run
from deals.models import DealStage
from tests.crm.conftest import conversation
from tests.e2e.conftest import sign_in
from tests.e2e.test_phone_width import FACTORY_PASSWORD, PHONE, _assert_fits_a_phone
from tests.fakes.hubspot_server import FakeHubSpot
from tests.fakes.salesforce_server import FakeSalesforce

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/shots")


@pytest.fixture
def hubspot(settings):
    with FakeHubSpot() as fake:
        settings.HUBSPOT_API_URL = fake.url
        yield fake


@pytest.fixture(autouse=True)
def stages(db):
    """The stages the data migration seeds (a transactional test starts with empty tables)."""
    seeded = importlib.import_module("deals.migrations.0002_default_stages").STAGES
    for name, position, outcome, probability in seeded:
        DealStage.objects.get_or_create(
            name=name, defaults={"position": position, "outcome": outcome, "probability": probability}
        )


def _shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"crm-{name}.png"), full_page=True)


def test_a_manager_connects_tests_syncs_and_reads_the_log_by_keyboard(
    page: Page, browser_problems, bob, alice, hubspot, eager
):
    conversation(alice, email="lena@acme-ledger.example")
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    page.goto("/settings/crm/hubspot/")

    page.get_by_label("Private app token").focus()
    page.keyboard.type(hubspot.token)
    page.keyboard.press("Tab")  # to "Test connection"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Connected as portal 4242")
    assert not CRMConnection.objects.exists()  # a test stores nothing

    page.get_by_label("Private app token").focus()
    page.keyboard.type(hubspot.token)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # to "Save"
    page.keyboard.press("Enter")
    expect(page.get_by_text("set (never shown again)")).to_be_visible()
    assert hubspot.token not in page.content()

    page.get_by_role("button", name="Sync now").focus()
    page.keyboard.press("Enter")
    log = page.locator("#crm-log tbody tr")
    expect(log).to_have_count(1)
    expect(log).to_contain_text("Done")
    expect(log).to_contain_text("by hand")
    run = SyncRun.objects.get()
    assert (run.created, run.failed) == (3, 0)  # the company, the person, the sent message
    assert len(hubspot.objects["contacts"]) == 1
    _shoot(page, "connection-1280")
    assert browser_problems == []


def test_the_crm_pages_fit_a_phone(page: Page, browser_problems, bob, alice, hubspot):
    from crm.services import connection_save

    connection = connection_save(kind="hubspot", credentials=hubspot.token, actor=bob, connected_as="portal 4242")
    lena = conversation(alice, email="lena@acme-ledger.example")
    conversation(alice, email="omar@acme-ledger.example")
    hubspot.refuse_email("omar@acme-ledger.example")
    sync_run(connection)
    hubspot.rate_limit(1, retry_after="3")
    with pytest.raises(Exception, match="secondly limit"):
        sync_run(connection, full=True)
    refused = SyncRecord.objects.get(state="error", kind="contact")

    for width, name in ((1280, "1280"), (PHONE["width"], "390")):
        page.set_viewport_size({"width": width, "height": PHONE["height"]})
        if width == 1280:
            sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
        for path, shot in (
            ("/settings/crm/", "index"),
            ("/settings/crm/hubspot/", "connection"),
            ("/settings/crm/hubspot/mapping/", "mapping"),
            (f"/leads/{refused.lead_id}/", "lead-refused"),
        ):
            if width == PHONE["width"]:
                _assert_fits_a_phone(page, path)
            else:
                page.goto(path)
            _shoot(page, f"{shot}-{name}")
    page.goto(f"/leads/{refused.lead_id}/")
    expect(page.locator("#lead-crm")).to_contain_text("is invalid")
    assert lena.pk != refused.lead_id
    assert browser_problems == []


@pytest.fixture
def salesforce(settings):
    with FakeSalesforce() as fake:
        settings.SALESFORCE_CA_BUNDLE = str(fake.cert_path)
        yield fake


def test_a_manager_connects_salesforce_by_keyboard_and_the_page_fits_a_phone(
    page: Page, browser_problems, bob, alice, salesforce
):
    sign_in(page, email=bob.email, password=FACTORY_PASSWORD)
    page.goto("/settings/crm/salesforce/")

    def type_in(label: str, value: str) -> None:
        page.get_by_label(label).focus()
        page.keyboard.type(value)

    type_in("My Domain URL", salesforce.instance_url)
    type_in("Consumer key", salesforce.client_id)
    type_in("Consumer secret", salesforce.client_secret)
    page.keyboard.press("Tab")  # to "Multi-currency org"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # to "Test connection"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(f"Connected as Acme Test Org ({salesforce.org_id})")
    assert not CRMConnection.objects.exists()  # a test stores nothing
    # What was typed stays, but the secret is asked again: a password input never renders its value.
    expect(page.get_by_label("My Domain URL")).to_have_value(salesforce.instance_url)
    expect(page.get_by_label("Consumer secret")).to_have_value("")
    assert salesforce.client_secret not in page.content()

    type_in("Consumer secret", salesforce.client_secret)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the checkbox and "Test connection", to "Save"
    page.keyboard.press("Enter")
    expect(page.get_by_text("set (never shown again)")).to_be_visible()
    assert salesforce.client_secret not in page.content()
    assert CRMConnection.objects.get().connected_as == f"Acme Test Org ({salesforce.org_id})"
    _shoot(page, "salesforce-connection-1280")

    page.set_viewport_size(PHONE)
    for path, shot in (("/settings/crm/salesforce/", "connection"), ("/settings/crm/salesforce/mapping/", "mapping")):
        _assert_fits_a_phone(page, path)
        _shoot(page, f"salesforce-{shot}-390")
    expect(page.get_by_label("Proposal sent")).to_have_value("Proposal/Price Quote")
    assert browser_problems == []
