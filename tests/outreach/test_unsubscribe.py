"""/u/<token>/: opting out with no login, by a click or by a mail provider's one-click POST."""

import pytest
from django.test import Client
from django.utils import timezone

from leads.models import Activity, Lead, Suppression
from leads.suppression import is_suppressed
from outreach.models import OutreachMessage, SendingAccount
from outreach.unsubscribe import lead_unsubscribe, lead_unsubscribe_token
from tests.factories import LeadFactory, MessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db
Status = OutreachMessage.Status
ADDRESS = "lena.park@prospect.example"


@pytest.fixture(autouse=True)
def _postal_address(settings):
    settings.COMPANY_POSTAL_ADDRESS = "Sales Department Ltd, 1 Example Street, London"


@pytest.fixture
def lead(campaign, alice):
    account = SendingAccountFactory(
        owner=alice, channel=SendingAccount.Channel.EMAIL, email_address="alice@sales.example", name="Alice email"
    )
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", email=ADDRESS)
    MessageFactory(
        lead=lead, campaign=campaign, account=account, kind=OutreachMessage.Kind.EMAIL, status=Status.SENT,
        sent_at=timezone.now(),
    )  # fmt: skip
    lead_unsubscribe_token(lead=lead)
    return lead


@pytest.fixture
def follow_up(lead, campaign) -> OutreachMessage:
    return MessageFactory(lead=lead, campaign=campaign, step=2, kind=OutreachMessage.Kind.EMAIL)


def url(lead: Lead) -> str:
    return f"/u/{lead.unsubscribe_token}/"


@pytest.fixture
def mail_provider() -> Client:
    """No cookie, no session, CSRF enforced: what a one-click POST from a mailbox provider looks like."""
    return Client(enforce_csrf_checks=True)


def test_it_asks_before_unsubscribing_without_login_and_without_the_address(client, lead):
    response = client.get(url(lead))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Stop emails from Alice Rivera?" in page
    assert "Hi Lena" in page
    assert f'action="{url(lead)}"' in page
    assert ADDRESS not in page and "Park" not in page
    assert "1 Example Street" in page  # settings.COMPANY_POSTAL_ADDRESS
    assert response.headers["Cache-Control"].startswith("max-age=0")
    lead.refresh_from_db()
    assert lead.status != Lead.Status.DO_NOT_CONTACT  # link scanners GET every URL


def test_it_unsubscribes_on_a_one_click_post_without_a_csrf_cookie(mail_provider, lead, follow_up):
    response = mail_provider.post(url(lead), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "You are unsubscribed" in page
    assert ADDRESS not in page
    lead.refresh_from_db()
    follow_up.refresh_from_db()
    assert lead.status == Lead.Status.DO_NOT_CONTACT
    assert is_suppressed(lead)
    assert set(Suppression.objects.values_list("reason", flat=True)) == {"unsubscribe"}
    assert follow_up.status == Status.CANCELLED
    assert Activity.objects.filter(lead=lead, verb="lead.unsubscribed").count() == 1
    assert "csrftoken" not in response.cookies


def test_it_is_harmless_to_unsubscribe_twice(mail_provider, lead):
    mail_provider.post(url(lead), {"List-Unsubscribe": "One-Click"})
    suppressions = Suppression.objects.count()

    again = mail_provider.post(url(lead), {"List-Unsubscribe": "One-Click"})
    page = mail_provider.get(url(lead))

    assert again.status_code == 200
    assert "You are unsubscribed" in page.content.decode()
    assert Suppression.objects.count() == suppressions
    assert Activity.objects.filter(lead=lead, verb="lead.unsubscribed").count() == 1
    assert Activity.objects.filter(lead=lead, verb="lead.do_not_contact").count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_says_a_bad_token_is_not_valid_and_changes_nothing(mail_provider, lead, method):
    response = getattr(mail_provider, method)("/u/not-a-real-token/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "This link is not valid" in page
    assert "1 Example Street" in page  # how to reach us
    assert "Lena" not in page
    lead.refresh_from_db()
    assert lead.status != Lead.Status.DO_NOT_CONTACT
    assert not Suppression.objects.exists()
    assert not Activity.objects.filter(verb="lead.unsubscribed").exists()


def test_it_refuses_other_methods(client, lead):
    assert client.put(url(lead)).status_code == 405


def test_it_makes_one_token_per_lead(lead):
    token = lead.unsubscribe_token

    again = lead_unsubscribe_token(lead=Lead.objects.get(pk=lead.pk))

    assert again == token and len(token) == 32


def test_it_keeps_the_token_another_send_stored_first(campaign):
    lead = LeadFactory(campaign=campaign, email="omar@prospect.example")
    stale = Lead.objects.get(pk=lead.pk)  # loaded before the other send stored a token
    first = lead_unsubscribe_token(lead=lead)

    assert lead_unsubscribe_token(lead=stale) == first


def test_it_finds_no_lead_for_an_unknown_token(lead):
    assert lead_unsubscribe(token="unknown") is None
