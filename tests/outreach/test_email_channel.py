"""The email channel against real local servers: aiosmtpd for SMTP, pymap (a subprocess) for IMAP."""

import datetime as dt
import textwrap
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone

from campaigns.models import SequenceStep
from leads.models import Activity, Lead, Suppression
from leads.suppression import is_suppressed, suppression_hash
from outreach.bounces import email_bounce_record
from outreach.channels import email as email_channel
from outreach.channels.base import ChannelError, ChannelUnavailable, SendOutcomeUnknown
from outreach.channels.email import EmailChannel, html_to_text, strip_quoted
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from outreach.replies import outreach_poll_replies
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory
from tests.fakes.imap_server import FakeIMAP
from tests.fakes.smtp_server import FakeSMTP, free_port

pytestmark = pytest.mark.django_db
Status = OutreachMessage.Status
Kind = OutreachMessage.Kind
PROSPECT = "lena.park@prospect.example"


@pytest.fixture
def smtp():
    # The same login as pymap's: an account has one login and password for SMTP and IMAP.
    with FakeSMTP(user=FakeIMAP.user, password=FakeIMAP.password) as server:
        yield server


@pytest.fixture(scope="module")
def imap_process():
    # One pymap process for the module (it takes ~0.4 s to start), emptied before each test.
    with FakeIMAP() as server:
        yield server


@pytest.fixture
def imap_server(imap_process):
    imap_process.clear()
    return imap_process


@pytest.fixture
def settings_email(settings):
    settings.SITE_URL = "https://sales.example"
    settings.COMPANY_POSTAL_ADDRESS = "Sales Department Ltd, 1 Example Street, London EC1A 1AA"
    return settings


@pytest.fixture
def account(alice, smtp, imap_server, settings_email):
    return SendingAccountFactory(
        owner=alice,
        name="Alice email",
        channel=SendingAccount.Channel.EMAIL,
        email_address="alice@sales.example",
        login=FakeIMAP.user,
        credentials=FakeIMAP.password,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security="none",
        imap_host=imap_server.host,
        imap_port=imap_server.port,
        imap_ssl=False,
    )


@pytest.fixture
def email_campaign(bob, account):
    return CampaignFactory(owner=bob, accounts=[account], steps=[SequenceStep.Kind.EMAIL, SequenceStep.Kind.EMAIL])


@pytest.fixture
def lead(email_campaign, alice):
    return LeadFactory(campaign=email_campaign, owner=alice, first_name="Lena", email=PROSPECT)


@pytest.fixture
def approved(lead, email_campaign, account) -> OutreachMessage:
    return MessageFactory(
        lead=lead,
        campaign=email_campaign,
        account=account,
        kind=Kind.EMAIL,
        subject="The Summit in March",
        body="Hi Lena,\n\nWould a short call work?\n\nAlice",
        status=Status.APPROVED,
        not_before=timezone.now() - dt.timedelta(minutes=1),
    )


def our_id(message: OutreachMessage) -> str:
    return f"<{message.idempotency_key}@sales.example>"


def mail(*, sender=PROSPECT, to="alice@sales.example", subject="Re: The Summit in March", body="", **headers) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = headers.pop("message_id", make_msgid(domain="prospect.example"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


# Sending


def test_it_delivers_an_approved_email_once_with_our_headers_and_footer(approved, smtp):
    from outreach.sending import outreach_send_next

    assert outreach_send_next(account_id=approved.account_id) == "sent"

    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received.mail_from == "alice@sales.example"
    assert received.rcpt_tos == [PROSPECT]
    message = received.message
    approved.refresh_from_db()
    lead = Lead.objects.get(pk=approved.lead_id)
    token = lead.unsubscribe_token
    assert token and len(token) == 32
    assert message["Message-ID"] == our_id(approved) == approved.provider_message_id
    assert approved.status == Status.SENT
    assert message["From"] == "Alice Rivera <alice@sales.example>"
    assert message["To"] == f"Lena Park <{PROSPECT}>"
    assert message["Subject"] == "The Summit in March"
    assert message["List-Unsubscribe"] == (
        f"<https://sales.example/u/{token}/>, <mailto:unsubscribe+{token}@sales.example>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_content().replace("\r\n", "\n")
    assert text.startswith("Hi Lena,\n\nWould a short call work?")
    assert f"Unsubscribe with one click: https://sales.example/u/{token}/" in text
    assert "Sales Department Ltd, 1 Example Street, London EC1A 1AA" in text


def test_it_keeps_the_lead_token_across_emails(approved, smtp):
    first = EmailChannel().send(approved)
    second = EmailChannel().send(approved)

    assert first.error is None and second.error is None
    tokens = {received.message["List-Unsubscribe"] for received in smtp.messages}
    assert len(tokens) == 1
    assert Lead.objects.filter(unsubscribe_token__isnull=False).count() == 1


def test_it_threads_an_answer_under_the_prospects_reply(approved, smtp, account):
    approved.status, approved.sent_at = Status.SENT, timezone.now()
    approved.save(update_fields=["status", "sent_at"])
    reply = InboundMessage.objects.create(
        lead=approved.lead,
        account=account,
        in_reply_to=approved,
        provider_id="email:<reply-1@prospect.example>",
        text="Sounds good",
        received_at=timezone.now(),
    )
    answer = MessageFactory(
        lead=approved.lead, campaign=approved.campaign, account=account, kind=Kind.EMAIL, reply_to=reply,
        subject="Re: The Summit in March", body="Great, Tuesday?", status=Status.APPROVED,
    )  # fmt: skip

    assert EmailChannel().send(answer).error is None

    message = smtp.messages[0].message
    assert message["In-Reply-To"] == "<reply-1@prospect.example>"
    assert message["References"] == f"{our_id(approved)} <reply-1@prospect.example>"
    assert message["Message-ID"] == f"<{answer.idempotency_key}@sales.example>"


@pytest.mark.parametrize(
    ("switch", "reply", "error"),
    [
        ("mail_reply", "550 5.7.1 Sender address rejected: not owned by user", ChannelError.ACCOUNT_RESTRICTED),
        ("mail_reply", "421 4.7.0 Try again later, closing connection", ChannelError.RATE_LIMITED),
        (
            "rcpt_reply",
            "550 5.1.1 The email account that you tried to reach does not exist",
            ChannelError.NOT_CONNECTED,
        ),
        ("rcpt_reply", "450 4.2.1 Mailbox temporarily unavailable", ChannelError.TRANSIENT),
        ("rcpt_reply", "452 4.5.3 Too many messages from this sender, slow down", ChannelError.RATE_LIMITED),
        ("rcpt_reply", "451 4.7.1 Rate limit exceeded", ChannelError.RATE_LIMITED),
        ("data_reply", "554 5.6.0 Message content rejected as spam", ChannelError.FATAL),
        ("data_reply", "451 4.3.0 Temporary local problem", ChannelError.TRANSIENT),
    ],
)
def test_it_maps_each_smtp_refusal_to_a_channel_error(approved, smtp, switch, reply, error):
    setattr(smtp, switch, reply)

    result = EmailChannel().send(approved)

    assert result.error == error
    assert reply.split(" ", 1)[1] in result.detail
    assert smtp.messages == []


def test_it_reports_a_refused_login_as_a_disconnected_account(approved, smtp, account):
    account.credentials = "wrong-password"
    account.save(update_fields=["credentials"])
    approved.refresh_from_db()

    result = EmailChannel().send(approved)

    assert result.error == ChannelError.ACCOUNT_DISCONNECTED
    assert "535" in result.detail
    assert "wrong-password" not in result.detail
    assert smtp.messages == []


def test_it_reports_a_server_that_is_not_there_as_transient(approved, account):
    account.smtp_port = free_port()  # nothing listens there
    account.save(update_fields=["smtp_port"])
    approved.refresh_from_db()

    result = EmailChannel().send(approved)

    assert result.error == ChannelError.TRANSIENT
    assert "ConnectionRefusedError" in result.detail


@pytest.mark.parametrize("after_data", ["hang", "close"])
def test_it_cannot_tell_whether_the_server_took_the_message_once_the_content_was_sent(
    approved, smtp, monkeypatch, after_data
):
    monkeypatch.setattr(email_channel, "SMTP_TIMEOUT_SECONDS", 0.5)
    smtp.after_data = after_data

    with pytest.raises(SendOutcomeUnknown, match="check the Sent folder"):
        EmailChannel().send(approved)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"email": None}, "no email address"),
        ({"email_bounced_at": dt.datetime(2025, 1, 6, tzinfo=dt.UTC)}, "bounced"),
    ],
)
def test_it_does_not_send_to_a_missing_or_bounced_address(approved, smtp, change, detail):
    Lead.objects.filter(pk=approved.lead_id).update(**change)
    approved.refresh_from_db()

    result = EmailChannel().send(approved)

    assert result.error == ChannelError.NOT_CONNECTED
    assert detail in result.detail
    assert smtp.messages == []


def test_it_sends_only_emails(approved, smtp):
    approved.kind = Kind.MESSAGE

    assert EmailChannel().send(approved).error == ChannelError.FATAL
    assert smtp.messages == []


# Reading


def test_it_reads_a_reply_to_our_email_without_the_quoted_history_and_without_marking_it_seen(
    approved, account, imap_server
):
    body = textwrap.dedent("""\
        Hi Alice,

        Tuesday at 10 works for me.

        Lena

        On Mon, 6 Jan 2025 at 09:00, Alice Rivera <alice@sales.example> wrote:
        > Hi Lena,
        > Would a short call work?
        """)
    uid = imap_server.append(
        mail(
            body=body,
            message_id="<reply-1@prospect.example>",
            in_reply_to=our_id(approved),
            references=our_id(approved),
        )
    )

    now = timezone.now()
    items = EmailChannel().fetch_messages(account, since=now - dt.timedelta(hours=1), now=now)

    assert len(items) == 1
    item = items[0]
    assert item.kind == "reply"
    assert item.in_reply_to_key == str(approved.idempotency_key)
    assert item.text == "Hi Alice,\n\nTuesday at 10 works for me.\n\nLena"
    assert item.provider_id == "email:<reply-1@prospect.example>"
    assert item.sender_email == PROSPECT
    assert item.subject == "Re: The Summit in March"
    assert item.position == uid
    assert abs((item.received_at - now).total_seconds()) < 5
    assert "\\Seen" not in imap_server.flags(uid)


def test_it_reads_only_new_mail_after_acknowledging(account, imap_server):
    channel = EmailChannel()
    now = timezone.now()
    since = now - dt.timedelta(hours=1)
    imap_server.append(mail(body="First"))
    imap_server.append(mail(body="Second"))

    first = channel.fetch_messages(account, since=since, now=now)
    channel.acknowledge(account, first)
    account.refresh_from_db()
    again = channel.fetch_messages(account, since=since, now=now)  # "N:*" still matches the newest
    imap_server.append(mail(body="Third"))
    third = channel.fetch_messages(account, since=since, now=now)

    assert [item.text for item in first] == ["First", "Second"]
    assert account.imap_last_uid == first[-1].position
    assert account.imap_uidvalidity == imap_server.uidvalidity()
    assert again == []
    assert [item.text for item in third] == ["Third"]


def test_it_never_moves_the_cursor_back(account, imap_server):
    channel = EmailChannel()
    now = timezone.now()
    imap_server.append(mail(body="First"))
    imap_server.append(mail(body="Second"))
    items = channel.fetch_messages(account, since=now - dt.timedelta(hours=1), now=now)

    channel.acknowledge(account, items)
    channel.acknowledge(account, items[:1])

    account.refresh_from_db()
    assert account.imap_last_uid == items[-1].position


def test_it_reads_a_date_window_when_the_uidvalidity_changed(account, imap_server):
    channel = EmailChannel()
    now = timezone.now()
    imap_server.append(mail(body="Before the rebuild"))
    channel.acknowledge(account, channel.fetch_messages(account, since=now - dt.timedelta(hours=1), now=now))
    account.refresh_from_db()
    old = (account.imap_uidvalidity, account.imap_last_uid)

    imap_server.restart()  # a rebuilt mailbox: new UIDVALIDITY, UIDs start again at the same number
    SendingAccount.objects.filter(pk=account.pk).update(imap_port=imap_server.port)
    account.refresh_from_db()
    imap_server.append(mail(body="After the rebuild"))
    items = channel.fetch_messages(account, since=now - dt.timedelta(hours=1), now=now)
    channel.acknowledge(account, items)

    account.refresh_from_db()
    assert [item.text for item in items] == ["After the rebuild"]
    assert items[0].position <= old[1]  # the old cursor would have skipped it
    assert account.imap_uidvalidity == imap_server.uidvalidity() != old[0]
    assert account.imap_last_uid == items[0].position


def test_it_reads_a_delivery_failure_as_a_bounce_of_the_failed_address(approved, account, imap_server):
    imap_server.append(bounce_report(approved))
    now = timezone.now()

    (item,) = EmailChannel().fetch_messages(account, since=now - dt.timedelta(hours=1), now=now)

    assert item.kind == "bounce"
    assert item.sender_email == PROSPECT
    assert item.in_reply_to_key == str(approved.idempotency_key)
    assert "550 5.1.1" in item.text


def test_it_skips_a_delay_warning_and_moves_past_it(approved, account, imap_server):
    uid = imap_server.append(bounce_report(approved, action="delayed", status="4.4.7"))
    channel = EmailChannel()
    now = timezone.now()

    items = channel.fetch_messages(account, since=now - dt.timedelta(hours=1), now=now)
    channel.acknowledge(account, items)

    assert items == []
    account.refresh_from_db()
    assert account.imap_last_uid == uid  # nothing to store, so nothing to read again


def test_it_does_not_move_past_an_item_that_was_not_stored(account, imap_server):
    channel = EmailChannel()
    now = timezone.now()
    imap_server.append(mail(body="Stored"))
    imap_server.append(mail(body="Not stored"))
    imap_server.append(mail(sender="alice@sales.example", body="Our own copy"))
    items = channel.fetch_messages(account, since=now - dt.timedelta(hours=1), now=now)

    channel.acknowledge(account, items[:1])

    account.refresh_from_db()
    assert [item.text for item in items] == ["Stored", "Not stored"]
    assert account.imap_last_uid == items[0].position
    assert [item.text for item in channel.fetch_messages(account, since=now, now=now)] == ["Not stored"]


def test_it_keeps_an_auto_reply_as_a_reply(approved, account, imap_server):
    imap_server.append(
        mail(body="I am out of office until Monday.", in_reply_to=our_id(approved), auto_submitted="auto-replied")
    )
    now = timezone.now()

    (item,) = EmailChannel().fetch_messages(account, since=now - dt.timedelta(hours=1), now=now)

    assert item.kind == "reply"
    assert item.text == "I am out of office until Monday."
    assert item.in_reply_to_key == str(approved.idempotency_key)


def test_it_reads_an_html_only_reply_as_text(approved, account, imap_server):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = PROSPECT, "alice@sales.example", "Re: hi"
    message["In-Reply-To"] = our_id(approved)
    message.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>Yes, let&#39;s talk.</p>"
        '<div class="gmail_quote"><p>On Mon Alice wrote:</p><blockquote>Old text</blockquote></div></body></html>',
        subtype="html",
    )
    imap_server.append(message.as_bytes())
    now = timezone.now()

    (item,) = EmailChannel().fetch_messages(account, since=now - dt.timedelta(hours=1), now=now)

    assert item.text == "Yes, let's talk."
    assert item.provider_id == f"imap:{imap_server.uidvalidity()}:{item.position}"  # no Message-ID
    assert item.received_at == now  # no Date header


def test_it_honours_a_mail_to_the_unsubscribe_address(approved, account, imap_server, smtp):
    EmailChannel().send(approved)
    token = Lead.objects.get(pk=approved.lead_id).unsubscribe_token
    imap_server.append(mail(to=f"unsubscribe+{token}@sales.example", subject="unsubscribe"))
    now = timezone.now()

    items = EmailChannel().fetch_messages(account, since=now - dt.timedelta(hours=1), now=now)

    # The adapter only reads: an opt-out item, never a reply, and nothing written yet.
    assert [(item.kind, item.unsubscribe_token) for item in items] == [("unsubscribe", token)]
    assert Lead.objects.get(pk=approved.lead_id).status != Lead.Status.DO_NOT_CONTACT

    assert outreach_poll_replies(account_id=account.pk, now=now) == 0  # honoured, and no reply stored
    lead = Lead.objects.get(pk=approved.lead_id)
    assert lead.status == Lead.Status.DO_NOT_CONTACT
    assert is_suppressed(lead)
    assert Activity.objects.filter(lead=lead, verb="lead.unsubscribed", payload__via="mailto").count() == 1
    assert not InboundMessage.objects.filter(lead=lead).exists()


def test_it_reports_a_refused_imap_login_as_unavailable_without_the_password(account):
    account.credentials = "wrong-imap-password"
    now = timezone.now()

    with pytest.raises(ChannelUnavailable, match="login failed") as failure:
        EmailChannel().fetch_messages(account, since=now, now=now)

    assert "wrong-imap-password" not in str(failure.value)


def test_it_reports_an_imap_server_that_is_not_there_as_unavailable(account):
    account.imap_port = free_port()
    now = timezone.now()

    with pytest.raises(ChannelUnavailable, match="ConnectionRefusedError"):
        EmailChannel().fetch_messages(account, since=now, now=now)


def test_it_has_no_invitations(account):
    channel = EmailChannel()

    assert channel.list_relations(account, since=timezone.now()) == []
    assert channel.list_pending_invites(account) == []
    assert channel.withdraw_invite(account, invitation_id="x") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes please.\n\nOn Tue, 7 Jan 2025, Alice Rivera <\nalice@sales.example> wrote:\n> old", "Yes please."),
        ("Sure.\n\n-----Original Message-----\nFrom: Alice\nSent: Monday", "Sure."),
        ("Sure.\n\nFrom: Alice Rivera\nSent: Monday\nTo: Lena\nSubject: hi", "Sure."),
        ("> Can you do Tuesday?\nYes.\n> And 10am?\nAlso yes.", "Yes.\nAlso yes."),
        ("Gerne.\n\nAm 6. Jan. 2025 um 09:00 schrieb Alice <alice@sales.example>:\n> alt", "Gerne."),
        ("> only quoted", "> only quoted"),
    ],
)
def test_it_strips_quoted_history(text, expected):
    assert strip_quoted(text) == expected


def test_it_turns_html_into_plain_lines():
    assert html_to_text("<p>One<br>Two</p><ul><li>Three &amp; four</li></ul><script>x()</script>") == (
        "One\nTwo\n\nThree & four"
    )


# Bounces


def bounce_report(message: OutreachMessage, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    original = EmailMessage()
    original["From"] = "Alice Rivera <alice@sales.example>"
    original["To"] = f"Lena Park <{PROSPECT}>"
    original["Subject"] = message.subject
    original["Message-ID"] = our_id(message)
    original.set_content("Hi Lena")
    report = EmailMessage()
    report["From"] = "Mail Delivery Subsystem <MAILER-DAEMON@mx.sales.example>"
    report["To"] = "alice@sales.example"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = format_datetime(timezone.now())
    report["Message-ID"] = make_msgid(domain="mx.sales.example")
    report["Auto-Submitted"] = "auto-replied"
    report.set_content(f"I'm sorry to have to inform you that your message could not be delivered to {PROSPECT}.")
    report.make_mixed()
    report.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"')
    report.set_boundary("BOUNDARY-report")
    status_text = (
        "Reporting-MTA: dns; mx.sales.example\n\n"
        f"Original-Recipient: rfc822; {PROSPECT}\n"
        f"Final-Recipient: rfc822; {PROSPECT.upper()}\n"
        f"Action: {action}\nStatus: {status}\n"
        "Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach does not exist\n"
    )
    raw = report.as_bytes().decode()
    tail = "--BOUNDARY-report--"
    status_part = f"--BOUNDARY-report\nContent-Type: message/delivery-status\n\n{status_text}\n"
    original_part = f"--BOUNDARY-report\nContent-Type: message/rfc822\n\n{original.as_string()}\n"
    return raw.replace(tail, status_part + original_part + tail).encode()


@pytest.fixture
def bounce(approved, account, imap_server):
    imap_server.append(bounce_report(approved))
    now = timezone.now()
    (item,) = EmailChannel().fetch_messages(account, since=now - dt.timedelta(hours=1), now=now)
    return item


def test_it_marks_the_lead_suppresses_the_address_and_cancels_open_emails_on_a_bounce(approved, account, bounce):
    approved.status, approved.sent_at = Status.SENT, timezone.now()
    approved.save(update_fields=["status", "sent_at"])
    follow_up = MessageFactory(
        lead=approved.lead, campaign=approved.campaign, account=account, step=2, kind=Kind.EMAIL,
        status=Status.APPROVED,
    )  # fmt: skip
    linkedin = MessageFactory(
        lead=approved.lead, campaign=approved.campaign, step=3, kind=Kind.MESSAGE, status=Status.APPROVED
    )

    assert email_bounce_record(account=account, item=bounce) is True

    lead = Lead.objects.get(pk=approved.lead_id)
    assert lead.email_bounced_at is not None
    assert Suppression.objects.filter(
        kind=Suppression.Kind.EMAIL, value_hash=suppression_hash("email", PROSPECT), reason="bounce"
    ).exists()
    assert not Suppression.objects.filter(kind=Suppression.Kind.LINKEDIN).exists()  # LinkedIn still works
    follow_up.refresh_from_db()
    linkedin.refresh_from_db()
    assert (follow_up.status, follow_up.last_error) == (Status.CANCELLED, "The email address bounced")
    assert linkedin.status == Status.APPROVED
    assert Activity.objects.filter(verb="email.bounced", lead=lead, message=approved).count() == 1
    account.refresh_from_db()
    assert account.health == SendingAccount.Health.OK  # one bounce in one email is no pattern


def test_it_records_a_bounce_once(account, bounce):
    assert email_bounce_record(account=account, item=bounce) is True
    assert email_bounce_record(account=account, item=bounce) is False
    assert Activity.objects.filter(verb="email.bounced").count() == 1


def test_it_finds_the_lead_by_address_when_the_bounce_names_no_message(approved, account, bounce):
    from dataclasses import replace

    assert email_bounce_record(account=account, item=replace(bounce, in_reply_to_key="")) is True
    assert Lead.objects.get(pk=approved.lead_id).email_bounced_at is not None


def sent_emails(account, campaign, count: int) -> list[OutreachMessage]:
    now = timezone.now()
    return [
        MessageFactory(
            lead=LeadFactory(campaign=campaign, email=f"person{n}@prospect.example"),
            campaign=campaign,
            account=account,
            kind=Kind.EMAIL,
            status=Status.SENT,
            sent_at=now - dt.timedelta(minutes=n),
        )  # fmt: skip
        for n in range(count)
    ]


@pytest.mark.parametrize(("sent", "paused"), [(20, True), (19, False)])
def test_it_pauses_the_account_when_too_many_recent_emails_bounced(account, email_campaign, bounce, sent, paused):
    messages = sent_emails(account, email_campaign, sent - 1)  # with the bounced one: `sent` emails
    OutreachMessage.objects.filter(idempotency_key=bounce.in_reply_to_key).update(
        status=Status.SENT, sent_at=timezone.now()
    )

    email_bounce_record(account=account, item=bounce)  # 1 of 20 = 5 % > 3 %

    account.refresh_from_db()
    assert len(messages) == sent - 1
    assert (account.health == SendingAccount.Health.PAUSED) is paused
    if paused:
        assert account.health_reason.startswith("5% of the last 20 emails bounced")


# End to end through outreach.replies: the poll stores replies and acts on bounces.


def test_it_stores_a_polled_reply_end_to_end(approved, account, imap_server):
    from outreach.replies import outreach_poll_replies

    approved.status, approved.sent_at = Status.SENT, timezone.now()
    approved.save(update_fields=["status", "sent_at"])
    imap_server.append(mail(body="Happy to talk.\n\n> Would a short call work?", in_reply_to=our_id(approved)))

    assert outreach_poll_replies(account_id=account.pk) == 1

    inbound = InboundMessage.objects.get()
    assert (inbound.lead_id, inbound.in_reply_to_id, inbound.text) == (approved.lead_id, approved.pk, "Happy to talk.")


def test_a_polled_bounce_marks_the_address_and_stores_no_reply(approved, account, imap_server):
    from outreach.replies import outreach_poll_replies

    approved.status, approved.sent_at = Status.SENT, timezone.now()
    approved.save(update_fields=["status", "sent_at"])
    imap_server.append(bounce_report(approved))

    assert outreach_poll_replies(account_id=account.pk) == 0  # a bounce is not a reply
    assert outreach_poll_replies(account_id=account.pk) == 0  # and the cursor moved past it
    assert not InboundMessage.objects.exists()
    assert Lead.objects.get(pk=approved.lead_id).email_bounced_at is not None
