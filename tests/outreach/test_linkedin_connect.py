"""Connect LinkedIn from /me/: Unipile's hosted sign-in, its notify call, the account it makes, reconnecting.

Unipile is the fake over real HTTP. Its notify call is made here with the test client, to the
notify URL our server gave Unipile (the browser test lets the fake make it itself).
"""

import datetime as dt
import hashlib
import json
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from leads.models import Activity
from outreach.linkedin import linkedin_account_setup
from outreach.models import InboundMessage, LinkedInLink, SendingAccount, WebhookEvent
from outreach.replies import outreach_poll_replies
from outreach.webhooks import webhook_process
from salesdept import clock
from tests.conftest import login
from tests.factories import LeadFactory, SendingAccountFactory
from tests.fakes.unipile_server import EXPIRES_ON, FakeUnipile

pytestmark = pytest.mark.django_db
SITE = "https://sales.example.com"
Health = SendingAccount.Health


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.UNIPILE_WEBHOOK_SECRET = "hook-secret-1"
    settings.OPENAI_API_KEY = ""  # replies are read by the offline template backend


def _connect(client, fake: FakeUnipile, path: str = "/inbox/linkedin/connect/") -> dict:
    """The rep's click: our server asks Unipile for a link and sends the browser there. The link's body."""
    before = len(fake.calls("POST", "/api/v1/hosted/accounts/link"))
    response = client.post(path)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    calls = fake.calls("POST", "/api/v1/hosted/accounts/link")
    assert len(calls) == before + 1
    # Sent on by the page (meta refresh, and a link without it), as the CSP allows no cross-site form redirect.
    url = re.search(r'<a class="button primary" href="([^"]+)"', response.text)[1]
    assert url.startswith(f"{fake.dsn}/hosted/") and f'content="0;url={url}"' in response.text
    return calls[-1]["json"]


def _notify(client, link: dict, *, account_id: str, status: str = "CREATION_SUCCESS", url: str = ""):
    """Unipile's call once the rep signed in, to the notify URL we gave it."""
    path = urlsplit(url or link["notify_url"]).path
    body = {"status": status, "account_id": account_id, "name": link["name"]}
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_it_sends_the_rep_to_unipiles_sign_in_page_with_a_secret_only_we_can_check(client, alice, fake_unipile):
    link = _connect(login(client, alice), fake_unipile)

    assert link["type"] == "create" and link["providers"] == ["LINKEDIN"]
    assert link["api_url"] == fake_unipile.dsn and EXPIRES_ON.match(link["expiresOn"])
    row = LinkedInLink.objects.get()
    assert (row.user, row.kind, row.used_at) == (alice, "create", None)
    assert link["name"] == str(row.pk)
    prefix = f"{SITE}/webhooks/unipile/linkedin/{row.pk}/"
    assert link["notify_url"].startswith(prefix)
    secret = link["notify_url"].removeprefix(prefix).strip("/")
    assert len(secret) >= 40 and secret not in row.secret_hash  # only its hash is kept
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert link["success_redirect_url"] == f"{SITE}/me/?linkedin={row.pk}#linkedin"
    assert row.expires_at == dt.datetime.fromisoformat(link["expiresOn"])


def test_the_notify_makes_a_ready_account_with_careful_limits(
    client, alice, fake_unipile, eager, django_capture_on_commit_callbacks
):
    link = _connect(login(client, alice), fake_unipile)
    fake_unipile.add_account("acc-new", user_id="ACo-alice-self", premium=True, sales_navigator=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = _notify(client.__class__(), link, account_id="acc-new")  # Unipile has no session

    assert response.status_code == 200 and response.json() == {"outcome": "connected"}
    account = SendingAccount.objects.get(provider_account_id="acc-new")
    assert (account.owner, account.channel, account.health, account.is_active) == (alice, "unipile", Health.OK, True)
    assert account.name == "Alice Rivera LinkedIn"
    assert account.activated_on == clock.now().astimezone(account.tz).date()  # the warm-up starts today
    assert (account.daily_invites, account.daily_messages, account.daily_profile_views) == (15, 40, 40)
    assert (account.warmup_start, account.min_gap_seconds, account.max_gap_seconds) == (5, 120, 360)
    # Learnt from Unipile's /users/me, typed by nobody.
    assert account.provider_user_id == "ACo-alice-self"
    assert (account.is_premium, account.has_sales_navigator, account.has_recruiter) == (True, True, False)
    assert account.capabilities_read_at is not None
    assert {hook["source"] for hook in fake_unipile.webhooks} == {"messaging", "users", "account_status"}
    assert {hook["request_url"] for hook in fake_unipile.webhooks} == {f"{SITE}/webhooks/unipile/"}
    assert Activity.objects.filter(verb="account.connected", payload__account=account.pk).count() == 1

    text = client.get(f"/me/?linkedin={link['name']}").text
    assert "Connected: Alice Rivera LinkedIn is ready" in text
    assert "Sales Navigator" in text


def test_the_profile_says_it_waits_until_unipile_has_called(client, alice, fake_unipile):
    link = _connect(login(client, alice), fake_unipile)

    text = client.get(f"/me/?linkedin={link['name']}").text

    assert "Waiting for LinkedIn to confirm your sign-in" in text
    assert not SendingAccount.objects.exists()


def test_a_second_identical_notify_changes_nothing(
    client, alice, fake_unipile, eager, django_capture_on_commit_callbacks
):
    link = _connect(login(client, alice), fake_unipile)
    fake_unipile.add_account("acc-new", user_id="ACo-alice-self")
    with django_capture_on_commit_callbacks(execute=True):
        _notify(client, link, account_id="acc-new")
    me_calls = len(fake_unipile.calls("GET", "/api/v1/users/me"))

    with django_capture_on_commit_callbacks(execute=True):
        response = _notify(client, link, account_id="acc-new")

    assert response.status_code == 200 and response.json() == {"outcome": "already done"}
    assert SendingAccount.objects.count() == 1
    assert Activity.objects.filter(verb="account.connected").count() == 1
    assert len(fake_unipile.calls("GET", "/api/v1/users/me")) == me_calls


def test_a_wrong_secret_is_refused_and_stores_nothing(client, alice, fake_unipile, caplog):
    link = _connect(login(client, alice), fake_unipile)

    response = _notify(client, link, account_id="acc-evil", url=link["notify_url"].rstrip("/")[:-3] + "xyz/")

    assert response.status_code == 403
    assert not SendingAccount.objects.exists()
    assert LinkedInLink.objects.get().used_at is None
    secret = urlsplit(link["notify_url"]).path.rstrip("/").rsplit("/", 1)[1]
    assert secret not in caplog.text and secret not in response.text


def test_an_unknown_link_is_refused(client):
    path = reverse("webhooks:linkedin_notify", args=["8d6f0a3e-8f43-4a52-9a57-0c6d1a0b7a11", "guess"])
    body = {"status": "CREATION_SUCCESS", "account_id": "acc-evil", "name": "8d6f0a3e-8f43-4a52-9a57-0c6d1a0b7a11"}

    assert client.post(path, data=json.dumps(body), content_type="application/json").status_code == 403
    assert not SendingAccount.objects.exists()


def test_a_replay_naming_another_account_is_refused(client, alice, fake_unipile):
    link = _connect(login(client, alice), fake_unipile)
    fake_unipile.add_account("acc-new")
    assert _notify(client, link, account_id="acc-new").status_code == 200

    assert _notify(client, link, account_id="acc-evil").status_code == 403

    assert list(SendingAccount.objects.values_list("provider_account_id", flat=True)) == ["acc-new"]


def test_an_expired_link_is_refused(client, alice, fake_unipile, time_machine):
    link = _connect(login(client, alice), fake_unipile)
    time_machine.move_to(clock.now() + dt.timedelta(hours=2))

    assert _notify(client, link, account_id="acc-new").status_code == 403

    assert not SendingAccount.objects.exists()


def test_a_failed_sign_in_stores_nothing_and_the_link_stays_open(client, alice, fake_unipile):
    link = _connect(login(client, alice), fake_unipile)

    response = _notify(client, link, account_id="acc-new", status="CREATION_FAIL")

    assert response.json() == {"outcome": "ignored"}
    assert not SendingAccount.objects.exists()
    assert LinkedInLink.objects.get().used_at is None


def test_webhooks_are_registered_on_the_first_connection_only(
    client, alice, dan, fake_unipile, eager, django_capture_on_commit_callbacks
):
    for user, account_id in ((alice, "acc-a"), (dan, "acc-d")):
        fake_unipile.add_account(account_id, user_id=f"ACo-{account_id}")
        link = _connect(login(client, user), fake_unipile)
        with django_capture_on_commit_callbacks(execute=True):
            _notify(client, link, account_id=account_id)

    assert len(fake_unipile.calls("POST", "/api/v1/webhooks")) == 3  # one per source, the first time
    assert len(fake_unipile.webhooks) == 3


def test_no_webhook_is_registered_without_our_secret(client, alice, fake_unipile, settings, caplog):
    settings.UNIPILE_WEBHOOK_SECRET = ""
    fake_unipile.add_account("acc-a", user_id="ACo-a")
    account = SendingAccountFactory(owner=alice, channel="unipile", provider_account_id="acc-a")

    assert linkedin_account_setup(account_id=account.pk) == "ready"

    assert fake_unipile.webhooks == []
    assert "UNIPILE_WEBHOOK_SECRET is not set" in caplog.text
    account.refresh_from_db()
    assert account.provider_user_id == "ACo-a"


def test_without_unipile_configured_the_rep_is_told_and_nothing_waits(client, alice, settings):
    settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = "", ""

    response = login(client, alice).post("/inbox/linkedin/connect/", follow=True)

    assert response.redirect_chain[-1][0] == "/me/#linkedin"
    assert "LinkedIn cannot be connected right now. Unipile is not configured" in response.text
    assert not LinkedInLink.objects.exists()


def test_unipile_refusing_the_link_shows_its_reason(client, alice, fake_unipile, settings):
    settings.UNIPILE_API_KEY = "a-wrong-key"

    response = login(client, alice).post("/inbox/linkedin/connect/", follow=True)

    assert "LinkedIn cannot be connected right now. Unipile: errors/missing_credentials" in response.text
    assert "a-wrong-key" not in response.text
    assert not LinkedInLink.objects.exists()


# -- reconnecting ----------------------------------------------------------------------------------------------


@pytest.fixture
def logged_out(alice, fake_unipile) -> SendingAccount:
    """Alice's LinkedIn account, which LinkedIn logged out (Unipile's CREDENTIALS)."""
    fake_unipile.add_account("acc-alice", user_id="ACo-alice", status="CREDENTIALS")
    return SendingAccountFactory(
        owner=alice,
        name="Alice LinkedIn",
        channel="unipile",
        provider_account_id="acc-alice",
        health=Health.AUTH_ERROR,
        health_reason="Unipile reports the account status CREDENTIALS.",
        paused_by_provider=True,
    )


def test_the_owner_reconnects_a_logged_out_account(client, alice, logged_out, fake_unipile):
    login(client, alice)
    page = client.get("/me/").text
    assert f'action="/inbox/linkedin/{logged_out.pk}/reconnect/"' in page
    assert "Needs reconnecting" in page

    link = _connect(client, fake_unipile, f"/inbox/linkedin/{logged_out.pk}/reconnect/")
    assert (link["type"], link["reconnect_account"]) == ("reconnect", "acc-alice")
    assert "providers" not in link

    assert _notify(client, link, account_id="acc-alice", status="RECONNECTED").json() == {"outcome": "reconnected"}
    logged_out.refresh_from_db()
    assert (logged_out.health, logged_out.health_reason) == (Health.OK, "")
    assert SendingAccount.objects.count() == 1
    assert Activity.objects.filter(verb="account.reconnected", payload__account=logged_out.pk).count() == 1
    assert "Reconnected: Alice LinkedIn sends again." in client.get(f"/me/?linkedin={link['name']}").text


def test_a_logout_tells_the_owner_where_to_reconnect(alice, fake_unipile):
    from outreach.accounts import account_health_from_provider
    from salesdept.models import Notification

    account = SendingAccountFactory(owner=alice, channel="unipile", provider_account_id="acc-alice")

    assert account_health_from_provider(account=account, status="credentials") == "paused"

    assert Notification.objects.get(user=alice).url == f"/me/#linkedin-{account.pk}"


def test_a_reconnect_naming_another_account_is_refused(client, alice, logged_out, fake_unipile):
    link = _connect(login(client, alice), fake_unipile, f"/inbox/linkedin/{logged_out.pk}/reconnect/")

    assert _notify(client, link, account_id="acc-other", status="RECONNECTED").status_code == 403

    logged_out.refresh_from_db()
    assert logged_out.health == Health.AUTH_ERROR


def test_nobody_else_can_reconnect_it(client, dan, bob, logged_out, fake_unipile):
    for user in (dan, bob):
        assert login(client, user).post(f"/inbox/linkedin/{logged_out.pk}/reconnect/").status_code == 404
    assert not fake_unipile.calls("POST", "/api/v1/hosted/accounts/link")


def test_the_banner_links_the_owner_to_the_reconnect_and_tells_others_who_must(client, alice, bob, logged_out):
    owner_page = login(client, alice).get("/leads/").text
    assert f'<a href="/me/#linkedin-{logged_out.pk}">Reconnect it</a>' in owner_page

    manager_page = login(client, bob).get("/inbox/checking/").text
    assert "Only Alice Rivera can reconnect it, from their profile page" in manager_page
    assert "Alice Rivera must reconnect it" in manager_page  # the Needs checking table


# -- our own messages ------------------------------------------------------------------------------------------


@pytest.fixture
def connected(client, alice, campaign, fake_unipile, eager, django_capture_on_commit_callbacks) -> SendingAccount:
    """Alice's account as the connect flow leaves it: nobody typed any id into it."""
    fake_unipile.add_account("acc-alice", user_id="ACo-alice")
    link = _connect(login(client, alice), fake_unipile)
    with django_capture_on_commit_callbacks(execute=True):
        _notify(client, link, account_id="acc-alice")
    account = SendingAccount.objects.get(channel="unipile")
    campaign.sending_accounts.add(account)
    LeadFactory(campaign=campaign, owner=alice, provider_id="ACo-lena", first_name="Lena")
    return account


def _hook(client, **fields):
    payload = {
        "account_id": "acc-alice",
        "account_type": "LINKEDIN",
        "event": "message_received",
        "chat_id": "chat-7",
        "message_id": "msg-ours",
        "timestamp": "2026-11-24T09:00:00.000Z",
        "message": "Thanks for connecting, Lena!",
        "sender": {"attendee_provider_id": "ACo-alice", "attendee_name": "Alice Rivera"},
        **fields,
    }
    client.post("/webhooks/unipile/", json.dumps(payload), "application/json", HTTP_X_WEBHOOK_SECRET="hook-secret-1")
    return webhook_process(event_id=WebhookEvent.objects.latest("pk").pk)


def test_a_webhook_of_our_own_message_stores_no_reply(client, connected, fake_unipile):
    assert connected.provider_user_id == "ACo-alice"  # learnt at connect
    accounts_asked = len(fake_unipile.calls("GET", "/api/v1/accounts/acc-alice"))

    assert _hook(client) == "own message"

    assert not InboundMessage.objects.exists()
    assert len(fake_unipile.calls("GET", "/api/v1/accounts/acc-alice")) == accounts_asked


def test_is_sender_alone_marks_our_message_even_before_the_own_id_is_known(client, alice, campaign, settings):
    """Connected a moment ago, the setup not run yet and Unipile unreachable: is_sender still says it is ours."""
    account = SendingAccountFactory(owner=alice, channel="unipile", provider_account_id="acc-alice")
    campaign.sending_accounts.add(account)
    LeadFactory(campaign=campaign, owner=alice, provider_id="ACo-lena", first_name="Lena")
    settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = "http://127.0.0.1:1", "key"  # nothing listens on port 1

    assert _hook(client, message_id="m1", is_sender=True, sender={"attendee_provider_id": "ACo-alice"}) == "own message"
    info = {"type": "LINKEDIN", "user_id": "ACo-alice"}
    assert _hook(client, message_id="m2", account_info=info) == "own message"
    assert not InboundMessage.objects.exists()


def test_the_prospects_message_is_still_a_reply(client, connected):
    assert _hook(client, message_id="msg-theirs", sender={"attendee_provider_id": "ACo-lena"}, is_sender=False) == (
        "stored"
    )
    assert InboundMessage.objects.get().text == "Thanks for connecting, Lena!"


def test_a_poll_of_our_own_message_stores_no_reply(connected, fake_unipile, django_capture_on_commit_callbacks):
    fake_unipile.add_message(account_id="acc-alice", sender_id="ACo-alice", text="Sent from my phone", is_sender=True)
    fake_unipile.add_message(account_id="acc-alice", sender_id="ACo-lena", text="Happy to talk")

    with django_capture_on_commit_callbacks(execute=True):
        assert outreach_poll_replies(account_id=connected.pk) == 1

    assert list(InboundMessage.objects.values_list("text", flat=True)) == ["Happy to talk"]
