"""Connect a mailbox in a real browser at phone width, with the keyboard, against the local SMTP and IMAP servers."""

import pytest
from playwright.sync_api import Page, expect

from outreach.models import SendingAccount
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import AXE, BLOCKING, RUN_AXE
from tests.fakes.imap_server import FakeIMAP
from tests.fakes.smtp_server import FakeSMTP

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]
FACTORY_PASSWORD = "pass-for-tests-1"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def servers():
    with FakeSMTP(user=FakeIMAP.user, password=FakeIMAP.password) as smtp, FakeIMAP() as imap:
        yield smtp, imap


def _fits(page: Page) -> None:
    width, window = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= window, f"{page.url} scrolls sideways: {width} px in a {window} px window"


def _axe(page: Page) -> list[str]:
    page.evaluate(AXE)
    return [f"{v['id']}: {v['help']}" for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]


def _fill(page: Page, smtp: FakeSMTP, imap: FakeIMAP, password: str) -> None:
    page.get_by_label("From address").fill("alice@sales.example")
    page.get_by_label("Login").fill(FakeIMAP.user)
    page.get_by_label("SMTP host").fill(smtp.host)
    page.get_by_label("SMTP port").fill(str(smtp.port))
    page.get_by_label("SMTP security").select_option("none")
    page.get_by_label("IMAP host").fill(imap.host)
    page.get_by_label("IMAP port").fill(str(imap.port))
    page.get_by_label("IMAP over SSL/TLS").uncheck()
    page.get_by_label("Password").fill(password)


def test_a_rep_connects_a_mailbox_on_a_phone(page: Page, browser_problems, alice, servers):
    smtp, imap = servers
    page.set_viewport_size(PHONE)
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.goto("/me/")
    _fits(page)

    _fill(page, smtp, imap, password="wrong-password-1")
    page.get_by_role("button", name="Send a test").click()
    expect(page.get_by_text("Failed: The server refused the login: 535")).to_be_visible()
    _fits(page)
    assert _axe(page) == []
    assert "wrong-password-1" not in page.content()

    page.get_by_label("Password").fill(FakeIMAP.password)
    page.get_by_label("Password").press("Enter")  # the keyboard's way: Enter saves, both checks first
    page.wait_for_url("**/me/")
    expect(page.get_by_text("Mailbox alice@sales.example connected")).to_be_visible()
    _fits(page)
    assert SendingAccount.objects.get(channel=SendingAccount.Channel.EMAIL).owner == alice
    assert len(smtp.messages) == 1
    assert browser_problems == []


def test_the_checklist_fits_a_phone_and_passes_axe(page: Page, browser_problems, carol, settings):
    settings.OPENAI_API_KEY = settings.LLM_BASE_URL = ""
    page.set_viewport_size(PHONE)
    sign_in(page, email=carol.email, password=FACTORY_PASSWORD)
    page.goto("/")
    page.wait_for_url("**/start/")
    expect(page.get_by_role("heading", name="Getting started")).to_be_visible()
    _fits(page)
    assert _axe(page) == []
    assert browser_problems == []
