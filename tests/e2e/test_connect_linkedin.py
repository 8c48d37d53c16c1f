"""Connect LinkedIn in a real browser: /me/ → the fake Unipile's sign-in page → back, connected; it sends;
LinkedIn logs it out, "Reconnect" brings it back.

The fake Unipile serves its sign-in page over real HTTP and, when the rep clicks "Connect", POSTs
Unipile's notify call to the live server itself before sending the browser back.
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from outreach.linkedin import linkedin_account_setup
from outreach.models import OutreachMessage, SendingAccount
from outreach.sending import outreach_send_next
from salesdept import clock
from tests.e2e.conftest import sign_in
from tests.factories import LeadFactory, MessageFactory
from tests.fakes.unipile_server import FakeUnipile

# live_server answers from another thread: the test data must be committed.
pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

FACTORY_PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user
PHONE = {"width": 390, "height": 844}
Status, Health = OutreachMessage.Status, SendingAccount.Health


@pytest.fixture
def fake_unipile(settings, live_server):
    with FakeUnipile() as fake:
        settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = fake.dsn, fake.api_key
        settings.UNIPILE_TIMEOUT_SECONDS = 5.0
        settings.SITE_URL = live_server.url  # where Unipile's notify and the browser come back to
        settings.UNIPILE_WEBHOOK_SECRET = "hook-secret-1"
        yield fake


def _approved(campaign, account: SendingAccount, provider_id: str) -> OutreachMessage:
    lead = LeadFactory(campaign=campaign, owner=account.owner, provider_id=provider_id, first_name="Lena")
    return MessageFactory(
        lead=lead,
        campaign=campaign,
        account=account,
        kind=OutreachMessage.Kind.CONNECTION_NOTE,
        body="Hi Lena, I enjoyed your post on forecasting.",
        status=Status.APPROVED,
        not_before=clock.now() - dt.timedelta(minutes=1),
    )


def test_a_rep_connects_linkedin_sends_and_reconnects_after_a_logout(
    page: Page, browser_problems, alice, campaign, fake_unipile
):
    fake_unipile.next_user = {"user_id": "ACo-alice-self", "premium": True, "sales_navigator": False}
    page.set_viewport_size(PHONE)
    sign_in(page, email=alice.email, password=FACTORY_PASSWORD)
    page.goto("/me/")
    expect(page.get_by_text("No LinkedIn account yet")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone

    page.get_by_role("button", name="Connect LinkedIn").click()
    expect(page.get_by_role("heading", name="Sign in to LinkedIn")).to_be_visible()  # Unipile's page, not ours
    page.get_by_role("link", name="Connect").click()

    page.wait_for_url(re.compile(r"/me/\?linkedin="))
    expect(page.get_by_role("status")).to_contain_text("Connected: Alice Rivera LinkedIn is ready")
    account = SendingAccount.objects.get(channel=SendingAccount.Channel.UNIPILE)
    assert (account.owner, account.health, account.activated_on) == (alice, Health.OK, clock.today(account.tz))
    assert fake_unipile.notifications[0]["status"] == 200

    linkedin_account_setup(account_id=account.pk)  # the worker's job after the notify
    account.refresh_from_db()
    assert (account.provider_user_id, account.is_premium) == ("ACo-alice-self", True)
    assert len(fake_unipile.webhooks) == 3
    page.reload()
    expect(page.locator(f"#linkedin-{account.pk}")).to_contain_text("Premium")

    # It sends, through the real send path. The window is opened around the clock so that the test
    # does not depend on the weekday or hour it runs at (make test-dates).
    SendingAccount.objects.filter(pk=account.pk).update(
        working_days=list(range(7)), work_start=dt.time(0, 0), work_end=dt.time(23, 59, 59)
    )
    campaign.sending_accounts.add(account)
    first = _approved(campaign, account, "ACo-lena")
    now = clock.now()
    assert outreach_send_next(account_id=account.pk, now=now) == "sent"
    assert [invite["invited_user_id"] for invite in fake_unipile.invites] == ["ACo-lena"]
    first.refresh_from_db()
    assert first.status == Status.SENT

    # LinkedIn logs the account out: the next send is refused and nothing goes out.
    fake_unipile.set_status(account.provider_account_id, "CREDENTIALS")
    second = _approved(campaign, account, "ACo-omar")
    outreach_send_next(account_id=account.pk, now=now + dt.timedelta(minutes=10))
    account.refresh_from_db()
    second.refresh_from_db()
    assert (account.health, second.status) == (Health.AUTH_ERROR, Status.APPROVED)
    assert len(fake_unipile.invites) == 1

    page.goto("/leads/")
    page.locator("#account-banner").get_by_role("link", name="Reconnect it").click()
    page.wait_for_url(re.compile(r"/me/#linkedin-"))
    page.locator(f"#linkedin-{account.pk}").get_by_role("button", name="Reconnect").click()
    page.get_by_role("link", name="Reconnect").click()  # signing in again on Unipile's page

    expect(page.get_by_role("status")).to_contain_text("Reconnected: Alice Rivera LinkedIn sends again.")
    account.refresh_from_db()
    assert account.health == Health.OK
    assert SendingAccount.objects.filter(channel=SendingAccount.Channel.UNIPILE).count() == 1
    assert outreach_send_next(account_id=account.pk, now=now + dt.timedelta(minutes=20)) == "sent"
    assert [invite["invited_user_id"] for invite in fake_unipile.invites] == ["ACo-lena", "ACo-omar"]
    expect(page.locator("#account-banner")).to_have_count(0)
    assert browser_problems == []
