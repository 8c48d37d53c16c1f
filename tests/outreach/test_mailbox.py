"""Connect a mailbox from /me/: SMTP and IMAP checked against real local servers before anything is stored."""

import logging
import socket

import pytest
from django.db import connection
from django.views.debug import SafeExceptionReporterFilter

from leads.models import Activity
from outreach.models import SendingAccount
from salesdept import clock
from tests.conftest import login
from tests.factories import SendingAccountFactory
from tests.fakes.imap_server import FakeIMAP
from tests.fakes.smtp_server import FakeSMTP, free_port

pytestmark = pytest.mark.django_db
URL = "/me/mailbox/"
PASSWORD = FakeIMAP.password  # the fakes share one login, as a real provider's SMTP and IMAP do
WRONG = "not-the-password-9"


@pytest.fixture
def smtp():
    with FakeSMTP(user=FakeIMAP.user, password=FakeIMAP.password) as server:
        yield server


@pytest.fixture(scope="module")
def imap_process():
    with FakeIMAP() as server:
        yield server


@pytest.fixture
def imap(imap_process):
    imap_process.clear()
    return imap_process


@pytest.fixture
def form(smtp, imap) -> dict:
    return {
        "email_address": "alice@sales.example",
        "login": FakeIMAP.user,
        "password": PASSWORD,
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_security": "none",
        "imap_host": imap.host,
        "imap_port": imap.port,
        "imap_ssl": "",  # unchecked: the local pymap speaks plain IMAP
    }


def email_accounts():
    return SendingAccount.objects.filter(channel=SendingAccount.Channel.EMAIL)


def test_it_connects_a_mailbox_once_both_checks_pass(client, alice, smtp, form):
    response = login(client, alice).post(URL, form | {"action": "save"})

    assert response.status_code == 302 and response.url == "/me/"
    account = email_accounts().get()
    assert (account.owner, account.email_address, account.credentials) == (alice, "alice@sales.example", PASSWORD)
    # The conservative caps and the warm-up, starting today.
    assert (account.daily_emails, account.warmup_start, account.is_active) == (30, 5, True)
    assert account.activated_on == clock.today(account.tz)
    # The test message went to the rep's own address, through the servers typed in.
    assert [m.rcpt_tos for m in smtp.messages] == [[alice.email]]
    assert smtp.messages[0].message["Subject"] == "Sales Department: test message"
    assert Activity.objects.filter(verb="account.mailbox_connected", payload__account=account.pk).exists()
    page = client.get("/me/").text
    assert "alice@sales.example" in page and "0 messages in INBOX" in page
    assert PASSWORD not in page


def test_it_keeps_the_password_encrypted_at_rest(client, alice, form):
    login(client, alice).post(URL, form | {"action": "save"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM outreach_sendingaccount WHERE channel = 'email'")
        (stored,) = cursor.fetchone()
    assert stored and PASSWORD not in stored


def test_it_shows_the_servers_535_for_a_wrong_password_and_stores_nothing(client, alice, smtp, form, caplog):
    caplog.set_level(logging.DEBUG)
    response = login(client, alice).post(URL, form | {"password": WRONG, "action": "save"})

    assert response.status_code == 200
    assert "Nothing was saved" in response.text
    assert "The server refused the login: 535" in response.text
    assert "Authentication credentials invalid" in response.text  # the server's own words
    assert not email_accounts().exists()
    assert smtp.messages == []
    assert WRONG not in response.text and WRONG not in caplog.text


def test_an_error_report_would_not_show_the_password(client, alice, form):
    response = login(client, alice).post(URL, form | {"password": WRONG, "action": "send_test"})
    shown = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert shown["password"] != WRONG and set(shown["password"]) == {"*"}
    assert shown["smtp_host"] == form["smtp_host"]


def test_it_stores_nothing_when_only_the_inbox_check_fails(client, alice, smtp, imap, form):
    imap.stop()  # SMTP answers, IMAP is gone
    try:
        response = login(client, alice).post(URL, form | {"action": "save"})
    finally:
        imap.start()
    assert "Passed: Test message sent" in response.text
    assert f"Could not connect to {form['imap_host']}:{form['imap_port']}" in response.text
    assert "Nothing was saved" in response.text
    assert not email_accounts().exists()


def test_it_sends_a_test_without_storing_anything(client, alice, smtp, form):
    response = login(client, alice).post(URL, form | {"action": "send_test"})

    assert "Passed: Test message sent to alice@example.com. The server answered: 250" in response.text
    assert len(smtp.messages) == 1
    assert not email_accounts().exists()


def test_it_says_it_could_not_connect_to_a_closed_port(client, alice, form):
    port = free_port()
    response = login(client, alice).post(URL, form | {"smtp_port": port, "action": "send_test"})
    assert f"Could not connect to 127.0.0.1:{port}: the connection was refused." in response.text


def test_it_gives_up_on_a_server_that_never_answers(client, alice, form, monkeypatch):
    monkeypatch.setattr("outreach.mailbox.CHECK_TIMEOUT_SECONDS", 0.5)
    with socket.socket() as silent:  # accepts the connection, never says hello
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        response = login(client, alice).post(URL, form | {"smtp_port": port, "action": "send_test"})
    assert f"Could not connect to 127.0.0.1:{port}: no answer within 0.5 seconds." in response.text


def test_it_names_the_tls_problem(client, alice, smtp, form):
    login(client, alice)
    response = client.post(URL, form | {"smtp_security": "ssl", "action": "send_test"})
    assert f"TLS problem with 127.0.0.1:{smtp.port}" in response.text
    response = client.post(URL, form | {"smtp_security": "starttls", "action": "send_test"})
    assert f"127.0.0.1:{smtp.port} does not offer STARTTLS" in response.text
    assert smtp.messages == []


def test_it_reads_the_inbox_and_counts_its_messages(client, alice, imap, form):
    uids = [imap.append(f"From: lena@prospect.example\r\nSubject: Hello {n}\r\n\r\nHi\r\n") for n in range(2)]
    response = login(client, alice).post(URL, form | {"action": "read_test"})

    assert f"Passed: Signed in to 127.0.0.1:{imap.port}: 2 messages in INBOX." in response.text
    assert not any("\\Seen" in imap.flags(uid) for uid in uids)  # read-only: nothing marked read
    assert not email_accounts().exists()


def test_it_shows_the_imap_servers_answer_to_a_wrong_password(client, alice, form):
    response = login(client, alice).post(URL, form | {"password": WRONG, "action": "read_test"})
    # The server's own words (RFC 5530's response code, as Dovecot and Gmail send it too).
    assert "Failed: The server refused the login: [AUTHENTICATIONFAILED] Invalid authentication" in response.text
    assert WRONG not in response.text


def test_it_names_the_tls_problem_of_an_imap_port_without_tls(client, alice, imap, form):
    response = login(client, alice).post(URL, form | {"imap_ssl": "on", "action": "read_test"})
    assert f"Failed: TLS problem with 127.0.0.1:{imap.port}" in response.text


def test_it_keeps_the_stored_password_when_left_blank(client, alice, smtp, form):
    account = SendingAccountFactory(
        owner=alice, channel=SendingAccount.Channel.EMAIL, credentials=PASSWORD,
        **{k: v for k, v in form.items() if k not in ("password", "imap_ssl")}, imap_ssl=False,
    )  # fmt: skip
    page = login(client, alice).get("/me/").text
    assert PASSWORD not in page and "Leave the password blank" in page

    response = client.post(URL, form | {"password": "", "email_address": "alice@sales.example", "action": "save"})

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.credentials == PASSWORD
    assert email_accounts().count() == 1


def test_saving_a_mailbox_whose_login_failed_resumes_it(client, alice, smtp, form):
    account = SendingAccountFactory(
        owner=alice, channel=SendingAccount.Channel.EMAIL, credentials="an-old-password",
        health=SendingAccount.Health.AUTH_ERROR, paused_by_provider=True, health_reason="AUTH: 535 rejected",
        **{k: v for k, v in form.items() if k not in ("password", "imap_ssl")}, imap_ssl=False,
    )  # fmt: skip
    response = login(client, alice).post(URL, form | {"action": "save"})

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.health, account.credentials) == (SendingAccount.Health.OK, PASSWORD)


def test_saving_does_not_lift_a_pause_for_another_reason(client, alice, smtp, form):
    account = SendingAccountFactory(
        owner=alice, channel=SendingAccount.Channel.EMAIL, credentials=PASSWORD,
        health=SendingAccount.Health.PAUSED, paused_by_provider=True, health_reason="Bounces passed 3 %",
        **{k: v for k, v in form.items() if k not in ("password", "imap_ssl")}, imap_ssl=False,
    )  # fmt: skip
    assert login(client, alice).post(URL, form | {"action": "save"}).status_code == 302
    account.refresh_from_db()
    assert account.health == SendingAccount.Health.PAUSED


def test_it_asks_for_the_password_again_when_the_server_changes(client, alice, smtp, form):
    SendingAccountFactory(
        owner=alice, channel=SendingAccount.Channel.EMAIL, credentials=PASSWORD,
        **{k: v for k, v in form.items() if k not in ("password", "imap_ssl")}, imap_ssl=False,
    )  # fmt: skip
    evil = FakeSMTP(user=FakeIMAP.user, password=FakeIMAP.password)
    with evil:
        response = login(client, alice).post(
            URL, form | {"password": "", "smtp_port": evil.port, "action": "send_test"}
        )
    assert "Enter the password: the servers or the login changed." in response.text
    assert evil.messages == []


def test_it_refuses_a_host_that_is_not_a_host_name(client, alice, form):
    response = login(client, alice).post(URL, form | {"smtp_host": "127.0.0.1/../x", "action": "save"})
    assert response.status_code == 200
    assert "A host name such as smtp.example.com" in response.text
    assert not email_accounts().exists()


def test_it_shows_the_form_on_the_profile_page(client, alice):
    page = login(client, alice).get("/me/").text
    assert "Connect a mailbox" in page
    assert 'value="send_test"' in page and 'value="read_test"' in page


def test_it_is_not_offered_to_someone_without_a_role(client, mallory, form):
    login(client, mallory)
    assert "Connect a mailbox" not in client.get("/me/").text
    assert client.post(URL, form | {"action": "save"}).status_code == 403
    assert not email_accounts().exists()


def test_it_gives_up_on_silent_servers_and_stores_nothing(client, alice, form, monkeypatch):
    """A save runs both checks: each ends at its own short timeout."""
    monkeypatch.setattr("outreach.mailbox.CHECK_TIMEOUT_SECONDS", 0.5)
    with socket.socket() as smtp_silent, socket.socket() as imap_silent:
        for sock in (smtp_silent, imap_silent):
            sock.bind(("127.0.0.1", 0))
            sock.listen()
        ports = {"smtp_port": smtp_silent.getsockname()[1], "imap_port": imap_silent.getsockname()[1]}
        response = login(client, alice).post(URL, form | ports | {"action": "save"})
    assert response.text.count("no answer within 0.5 seconds") == 2
    assert not email_accounts().exists()
