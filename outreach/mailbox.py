"""Connect a mailbox: a rep's own SMTP and IMAP servers, checked before anything is stored.

Each check talks to the servers the rep typed with short timeouts (a host that never answers must
not hold a web worker) and says what happened in words: the server's own reply to a refused login,
"could not connect" for a host that does not answer, the TLS problem for a certificate or a port
that does not speak TLS. The password never appears in what a check says.
"""

import imaplib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from django.db import transaction
from imap_tools.errors import ImapToolsError, MailboxLoginError, UnexpectedCommandStatusError

from leads.services import activity_record
from outreach.accounts import account_resume
from outreach.channels.email import imap_logout, imap_open, smtp_open
from outreach.models import SendingAccount
from salesdept import clock

CHECK_TIMEOUT_SECONDS = 5
# A change to any of these points the account at another mailbox: the stored password is not sent there.
SERVER_FIELDS = ("email_address", "login", "smtp_host", "smtp_port", "imap_host", "imap_port")
IMAP_FIELDS = ("email_address", "login", "imap_host", "imap_port")


@dataclass(frozen=True)
class Check:
    ok: bool
    text: str


# The checks


def smtp_check(account: SendingAccount, *, to: str) -> Check:
    """Send one short test message through the account's SMTP server, to `to`."""
    server = f"{account.smtp_host}:{account.smtp_port}"
    try:
        smtp = smtp_open(account, timeout=CHECK_TIMEOUT_SECONDS)
    except (smtplib.SMTPException, OSError) as exc:
        return Check(False, _smtp_words(exc, server))
    try:
        code, reply = smtp.mail(account.email_address)
        if code != 250:
            return Check(False, f"The server refused the sender {account.email_address}: {code} {_decoded(reply)}")
        code, reply = smtp.rcpt(to)
        if code not in (250, 251):
            return Check(False, f"The server refused the recipient {to}: {code} {_decoded(reply)}")
        code, reply = smtp.data(_test_message(account, to=to).as_bytes())
    except (smtplib.SMTPException, OSError) as exc:
        return Check(False, _smtp_words(exc, server))
    finally:
        _smtp_close(smtp)
    if code != 250:
        return Check(False, f"The server did not take the test message: {code} {_decoded(reply)}")
    return Check(True, f"Test message sent to {to}. The server answered: {code} {_decoded(reply)}")


def imap_check(account: SendingAccount) -> Check:
    """Sign in over IMAP and open INBOX read-only: nothing in it is marked read."""
    server = f"{account.imap_host}:{account.imap_port}"
    try:
        box = imap_open(account, timeout=CHECK_TIMEOUT_SECONDS)
        try:
            box.folder.set("INBOX", readonly=True)
            count = box.folder.status("INBOX", ["MESSAGES"])["MESSAGES"]
        finally:
            imap_logout(box)
    except MailboxLoginError as exc:
        return Check(False, f"The server refused the login: {_server_text(exc)}")
    except UnexpectedCommandStatusError as exc:
        return Check(False, f"{server} answered: {_server_text(exc)}")
    except (ImapToolsError, imaplib.IMAP4.error) as exc:
        return Check(False, f"{server} answered: {exc}"[:300])
    except OSError as exc:
        return Check(False, _connect_words(exc, server))
    return Check(True, f"Signed in to {server}: {count} message{'' if count == 1 else 's'} in INBOX.")


def _smtp_words(exc: Exception, server: str) -> str:
    match exc:
        case smtplib.SMTPAuthenticationError():
            return f"The server refused the login: {exc.smtp_code} {_decoded(exc.smtp_error)}"
        case smtplib.SMTPConnectError():
            return f"{server} refused the connection: {exc.smtp_code} {_decoded(exc.smtp_error)}"
        case smtplib.SMTPNotSupportedError():
            return f"{server} does not offer STARTTLS or login: choose another security setting or port."
        case smtplib.SMTPServerDisconnected() if isinstance(exc.__context__, TimeoutError):
            return _connect_words(exc.__context__, server)  # smtplib words a timeout as a disconnection
        case smtplib.SMTPServerDisconnected():
            return f"{server} closed the connection: {exc}"
        case smtplib.SMTPResponseException():
            return f"{server} answered: {exc.smtp_code} {_decoded(exc.smtp_error)}"
        case smtplib.SMTPException():
            return f"{server}: {exc}"
    return _connect_words(exc, server)


def _connect_words(exc: OSError, server: str) -> str:
    match exc:
        case ssl.SSLCertVerificationError():
            return f"TLS problem with {server}: the certificate is not trusted ({exc.verify_message})."
        case ssl.SSLError():
            return f"TLS problem with {server}: {exc.reason or exc} (does this port speak TLS?)."
        case socket.gaierror():
            return f"Could not connect to {server}: no such host."
        case TimeoutError():
            return f"Could not connect to {server}: no answer within {CHECK_TIMEOUT_SECONDS} seconds."
        case ConnectionRefusedError():
            return f"Could not connect to {server}: the connection was refused."
    return f"Could not connect to {server}: {exc.strerror or exc}."


def _server_text(exc: UnexpectedCommandStatusError) -> str:
    data = exc.command_result[1] if len(exc.command_result) > 1 else []
    lines = [_decoded(part) for part in data if isinstance(part, bytes | str)] if isinstance(data, list) else []
    return " ".join(lines)[:300] or str(exc)[:300]


def _decoded(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _smtp_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _test_message(account: SendingAccount, *, to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = account.email_address
    mail["To"] = to
    mail["Subject"] = "Sales Department: test message"
    mail["Message-ID"] = make_msgid(domain=account.domain)
    mail.set_content("This message checks that Sales Department can send from this mailbox. No need to reply.\n")
    return mail


# Storing


@dataclass(frozen=True)
class MailboxResult:
    sent: Check
    read: Check

    @property
    def ok(self) -> bool:
        return self.sent.ok and self.read.ok


def mailbox_connect(*, owner, account: SendingAccount, changed: list[str]) -> MailboxResult:
    """Check both servers, then store the mailbox; nothing is stored when either check fails.

    `account` carries the form's values (and the password) but is not saved yet; `changed` names the
    fields the form changed. The checks run outside any transaction: they wait on other servers.
    """
    result = MailboxResult(sent=smtp_check(account, to=owner.email or account.email_address), read=imap_check(account))
    if result.ok:
        _mailbox_store(owner=owner, account=account, changed=changed)
    return result


@transaction.atomic
def _mailbox_store(*, owner, account: SendingAccount, changed: list[str]) -> None:
    created = account.pk is None
    if created:
        account.owner, account.channel = owner, SendingAccount.Channel.EMAIL
        account.name = f"{account.email_address} (email)"[:200]
        # A new mailbox starts on the model's conservative caps and warms up from today.
        account.activated_on = clock.today(account.tz)
        account.save()
    else:
        fields = [*changed, "credentials"]
        if set(changed) & set(IMAP_FIELDS):
            # Another mailbox: the old one's UIDs mean nothing there.
            account.imap_uidvalidity, account.imap_last_uid = None, 0
            fields += ["imap_uidvalidity", "imap_last_uid"]
        account.save(update_fields=sorted(set(fields)))
        if account.health == SendingAccount.Health.AUTH_ERROR:
            # Both checks just signed in: the login the server refused works again. Other pauses
            # (bounces, a manager's) have other causes and stay.
            account_resume(account=account, reason="The mailbox was checked and saved again.")
    activity_record(verb="account.mailbox_connected", account=account.pk, created=created, actor=owner)
