"""Email through the account's own servers: SMTP out, IMAP in (practices.md §5).

Sending drives smtplib step by step, because "nothing went out" and "it may have gone out"
differ only in whether the message content was already on the wire when the connection failed.
Reading never marks mail seen (the mailbox is opened read-only) and moves by UID within one
UIDVALIDITY; when the server's UIDVALIDITY changes, old UIDs mean nothing and a date window is read.
"""

import datetime as dt
import email
import email.policy
import imaplib
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage as ParsedMail
from email.message import Message
from email.utils import formataddr, getaddresses, parseaddr
from html.parser import HTMLParser

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.utils import timezone
from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessage, U
from imap_tools.errors import ImapToolsError, MailboxLoginError

from leads.suppression import is_suppressed
from outreach.channels.base import (
    ChannelError,
    ChannelUnavailable,
    InboundItem,
    PendingInvite,
    Relation,
    SendOutcomeUnknown,
    SendResult,
)
from outreach.models import OutreachMessage, SendingAccount

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30
IMAP_TIMEOUT_SECONDS = 30
# Mail read per poll at most; the UID cursor brings the rest on the next one.
MAX_FETCH = 200

# Codes and texts a server uses to say "slow down" rather than "no".
RATE_LIMIT_TEXT = re.compile(
    r"too many|rate.?limit|throttl|sending (quota|limit)|daily (user )?(sending )?(quota|limit)|limit exceeded", re.I
)
UUID_MESSAGE_ID = re.compile(r"<([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@[^<>\s]+>", re.I)
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
UNSUBSCRIBE_ADDRESS = re.compile(r"^unsubscribe\+([A-Za-z0-9_-]+)@", re.I)
BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}


@dataclass(frozen=True)
class _Read:
    """What a fetch looked at: acknowledge moves the cursor past it, but never past an unstored item."""

    uidvalidity: int
    uids: list[int]  # every mail examined, ascending, including those that made no item
    positions: set[int]  # the UIDs that became items


class EmailChannel:
    def __init__(self) -> None:
        self._last_read: dict[int, _Read] = {}

    # Sending

    def send(self, message: OutreachMessage) -> SendResult:
        from outreach.unsubscribe import lead_unsubscribe_token

        if message.kind != OutreachMessage.Kind.EMAIL:
            return SendResult(error=ChannelError.FATAL, detail=f"the email channel cannot send a {message.kind}")
        lead, account = message.lead, message.account
        if not lead.email:
            return SendResult(error=ChannelError.NOT_CONNECTED, detail="no email address")
        if lead.email_bounced_at:
            return SendResult(error=ChannelError.NOT_CONNECTED, detail="the address bounced before")
        if is_suppressed(lead):
            return SendResult(error=ChannelError.NOT_CONNECTED, detail="the address is on the suppression list")
        recipient = _envelope_address(lead.email)
        if recipient is None:
            return SendResult(error=ChannelError.NOT_CONNECTED, detail="the address needs SMTPUTF8")
        mail = build_email(message, token=lead_unsubscribe_token(lead=lead))
        raw = mail.message().as_bytes(linesep="\r\n")
        sender = _envelope_address(account.email_address) or account.email_address
        if failure := _smtp_deliver(account, sender=sender, recipient=recipient, raw=raw):
            return failure
        return SendResult(provider_message_id=mail.extra_headers["Message-ID"])

    # Reading

    def fetch_messages(self, account: SendingAccount, *, since: dt.datetime, now: dt.datetime) -> list[InboundItem]:
        try:
            box = imap_open(account)
            try:
                uidvalidity, mails = _read_inbox(box, account, since=since)
            finally:
                imap_logout(box)
        except (ImapToolsError, imaplib.IMAP4.error, OSError) as exc:
            raise ChannelUnavailable(f"IMAP {account.imap_host}:{account.imap_port}: {_imap_error(exc)}") from exc
        items = _inbound_items(account, mails, uidvalidity=uidvalidity, now=now)
        uids = sorted(int(mail.uid) for mail in mails if mail.uid)
        self._last_read[account.pk] = _Read(uidvalidity, uids, {item.position for item in items})
        return items

    def acknowledge(self, account: SendingAccount, items: list[InboundItem]) -> None:
        """Move the UID cursor forward, past what was stored and past mail that needed no storing."""
        stored = {item.position for item in items if item.position is not None}
        read = self._last_read.get(account.pk)
        last_uid = max(stored, default=0)
        if read is not None:
            for uid in read.uids:
                if uid in read.positions and uid not in stored:
                    break  # an item that was not stored: read it again next time
                last_uid = max(last_uid, uid)
        if not last_uid:
            return
        cursor = SendingAccount.objects.filter(pk=account.pk, imap_last_uid__lt=last_uid)
        if read is not None:
            cursor = cursor.filter(imap_uidvalidity=read.uidvalidity)
        if cursor.update(imap_last_uid=last_uid):
            account.imap_last_uid = last_uid

    # Email has no invitations and no relations.

    def list_relations(self, account: SendingAccount, *, since: dt.datetime) -> list[Relation]:
        return []

    def list_pending_invites(self, account: SendingAccount) -> list[PendingInvite]:
        return []

    def withdraw_invite(self, account: SendingAccount, *, invitation_id: str) -> None:
        return None


# Building the message


def unsubscribe_url(token: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/u/{token}/"


def message_id_for(message: OutreachMessage) -> str:
    """Our Message-ID: replies are matched by the key in it, so its form never changes."""
    return f"<{message.idempotency_key}@{message.account.domain}>"


def build_email(message: OutreachMessage, *, token: str) -> EmailMessage:
    account, lead = message.account, message.lead
    url = unsubscribe_url(token)
    footer = f"-- \nNot interested? Unsubscribe with one click: {url}\n{settings.COMPANY_POSTAL_ADDRESS}"
    headers = {
        "Message-ID": message_id_for(message),
        "List-Unsubscribe": f"<{url}>, <mailto:unsubscribe+{token}@{account.domain}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",  # RFC 8058
    }
    if message.reply_to_id and (their_id := _their_message_id(message.reply_to.provider_id)):
        ours = message.reply_to.in_reply_to
        thread = [message_id_for(ours)] if ours and ours.account_id else []
        headers["In-Reply-To"] = their_id
        headers["References"] = " ".join([*thread, their_id])
    return EmailMessage(
        subject=message.subject,
        body=f"{message.body.rstrip()}\n\n{footer}\n",
        from_email=formataddr((account.owner.get_full_name(), account.email_address)),
        to=[formataddr((lead.full_name, lead.email))],
        headers=headers,
    )


def inbound_provider_id(message_id: str, *, uidvalidity: int, uid: int) -> str:
    """`email:<message-id>` when the mail has one that fits, else its place in the mailbox."""
    provider_id = f"email:{message_id}"
    return provider_id if message_id and len(provider_id) <= 200 else f"imap:{uidvalidity}:{uid}"


def _their_message_id(provider_id: str) -> str:
    return provider_id.removeprefix("email:") if provider_id.startswith("email:<") else ""


def _envelope_address(address: str) -> str | None:
    local, _, domain = address.strip().rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return f"{local}@{domain}" if local.isascii() else None


# SMTP


def _smtp_deliver(account: SendingAccount, *, sender: str, recipient: str, raw: bytes) -> SendResult | None:
    """None once the server took the message; a SendResult for what stopped it before that."""
    server = f"{account.smtp_host}:{account.smtp_port}"
    smtp = None
    try:
        smtp = smtp_open(account, timeout=SMTP_TIMEOUT_SECONDS)
        code, reply = smtp.mail(sender)
        if code != 250:
            return _refused("MAIL FROM", code, reply)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            return _refused("RCPT TO", code, reply)
        # Until the content is on the wire the server cannot have accepted anything: failures so far are safe.
        code, reply = smtp.docmd("DATA")
        if code != 354:
            return _refused("DATA", code, reply)
        try:
            smtp.send(_dot_stuffed(raw))
            code, reply = smtp.getreply()
        except OSError as exc:  # smtplib's errors are OSErrors too: a timeout, a closed connection
            smtp.close()
            raise SendOutcomeUnknown(
                f"{server} stopped answering after the message was sent, before confirming it ({exc}); "
                "check the Sent folder before sending again"
            ) from exc
        if code != 250:
            return _refused("end of DATA", code, reply)
        return None
    except smtplib.SMTPConnectError as exc:  # the greeting was not 220
        return SendResult(error=ChannelError.TRANSIENT, detail=f"{server} refused the connection: {_text(exc)}")
    except smtplib.SMTPResponseException as exc:  # STARTTLS or AUTH answered no
        if exc.smtp_code < 500:
            return _refused("AUTH", exc.smtp_code, exc.smtp_error)
        return SendResult(error=ChannelError.ACCOUNT_DISCONNECTED, detail=f"{server} refused the login: {_text(exc)}")
    except smtplib.SMTPNotSupportedError as exc:
        return SendResult(error=ChannelError.ACCOUNT_DISCONNECTED, detail=f"{server} does not offer {exc}")
    except ssl.SSLCertVerificationError as exc:
        return SendResult(error=ChannelError.ACCOUNT_DISCONNECTED, detail=f"{server}: certificate not trusted: {exc}")
    except smtplib.SMTPServerDisconnected as exc:
        return SendResult(error=ChannelError.TRANSIENT, detail=f"{server} closed the connection: {exc}")
    except smtplib.SMTPException as exc:  # e.g. no AUTH mechanism in common
        return SendResult(error=ChannelError.ACCOUNT_DISCONNECTED, detail=f"{server}: {exc}")
    except OSError as exc:  # refused, unreachable, timed out: all before any content was sent
        return SendResult(error=ChannelError.TRANSIENT, detail=f"{server}: {exc.__class__.__name__}: {exc}")
    finally:
        if smtp is not None and smtp.sock is not None:
            _smtp_quit(smtp)


def smtp_open(account: SendingAccount, *, timeout: float) -> smtplib.SMTP:
    """Connected, secured and logged in as the account says; on any failure the connection is closed."""
    if account.smtp_security == "ssl":
        context = ssl.create_default_context()
        smtp = smtplib.SMTP_SSL(account.smtp_host, account.smtp_port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(account.smtp_host, account.smtp_port, timeout=timeout)
    try:
        if account.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if account.credentials:
            smtp.login(account.login or account.email_address, account.credentials)
    except BaseException:
        _smtp_quit(smtp)
        raise
    return smtp


def _smtp_quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _dot_stuffed(raw: bytes) -> bytes:
    body = re.sub(rb"(?m)^\.", b"..", raw)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def _refused(stage: str, code: int, reply: bytes | str) -> SendResult:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    detail = f"{stage}: {code} {text}"
    if code == 421 or RATE_LIMIT_TEXT.search(text):
        return SendResult(error=ChannelError.RATE_LIMITED, detail=detail)
    if code < 500:  # 4xx: try again later, nothing was accepted
        return SendResult(error=ChannelError.TRANSIENT, detail=detail)
    match stage:
        case "MAIL FROM" | "AUTH":
            return SendResult(error=ChannelError.ACCOUNT_RESTRICTED, detail=detail)
        case "RCPT TO":
            return SendResult(error=ChannelError.NOT_CONNECTED, detail=detail)
    return SendResult(error=ChannelError.FATAL, detail=detail)


def _text(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    return f"{exc.smtp_code} {error.decode(errors='replace') if isinstance(error, bytes) else error}"


# IMAP


class _RawMail(MailMessage):
    """imap-tools' message, keeping the bytes: parsed again with the modern email policy."""

    def __init__(self, fetch_data: list) -> None:
        super().__init__(fetch_data)
        self.raw = self._get_message_data_parts(fetch_data)[0]


def imap_open(account: SendingAccount, *, timeout: float = IMAP_TIMEOUT_SECONDS) -> MailBox | MailBoxUnencrypted:
    """Connected, secured and logged in as the account says; on any failure the connection is closed."""
    if account.imap_ssl:
        box = MailBox(account.imap_host, port=account.imap_port, timeout=timeout)
    else:
        box = MailBoxUnencrypted(account.imap_host, port=account.imap_port, timeout=timeout)
    box.email_message_class = _RawMail
    try:
        if not account.imap_ssl and "STARTTLS" in box.client.capabilities:
            box.client.starttls(ssl.create_default_context())
        return box.login(account.login or account.email_address, account.credentials, initial_folder=None)
    except Exception:
        box.client.shutdown()
        raise


def imap_logout(box: MailBox) -> None:
    try:
        box.logout()
    except (ImapToolsError, imaplib.IMAP4.error, OSError):
        box.client.shutdown()  # what was read is read: a failed goodbye does not undo it


def _read_inbox(box: MailBox, account: SendingAccount, *, since: dt.datetime) -> tuple[int, list["_RawMail"]]:
    status = box.folder.status("INBOX", ["UIDVALIDITY", "UIDNEXT"])
    uidvalidity = status["UIDVALIDITY"]
    box.folder.set("INBOX", readonly=True)  # EXAMINE: nothing we do can set \Seen
    if uidvalidity != account.imap_uidvalidity:
        # Old UIDs mean nothing now: read a date window, and start the cursor just before it.
        uids = _uids(box, AND(date_gte=(since - dt.timedelta(days=1)).date()))
        next_uid = status.get("UIDNEXT") or max(_uids(box, "ALL"), default=0) + 1
        _cursor_reset(account, uidvalidity=uidvalidity, last_uid=min(uids, default=next_uid) - 1)
    else:
        last = account.imap_last_uid
        # "N:*" always matches the newest message, even when its UID is below N.
        uids = [uid for uid in _uids(box, AND(uid=U(last + 1, "*"))) if uid > last]
    uids = sorted(uids)[:MAX_FETCH]
    if not uids:
        return uidvalidity, []
    return uidvalidity, list(box.fetch(uid_list=[str(uid) for uid in uids], mark_seen=False, bulk=50))


def _uids(box: MailBox, criteria: object) -> list[int]:
    return [int(uid) for uid in box.uids(criteria)]


def _imap_error(exc: Exception) -> str:
    if isinstance(exc, MailboxLoginError):
        return "login failed (check the user name and password)"
    return f"{exc.__class__.__name__}: {exc}"[:300]


def _cursor_reset(account: SendingAccount, *, uidvalidity: int, last_uid: int) -> None:
    """A new UIDVALIDITY. Stored at once, so a poll that fails to store its mail reads them again."""
    last_uid = max(last_uid, 0)
    updated = SendingAccount.objects.filter(
        Q(imap_uidvalidity=account.imap_uidvalidity)
        if account.imap_uidvalidity is not None
        else Q(imap_uidvalidity__isnull=True),
        pk=account.pk,
    ).update(imap_uidvalidity=uidvalidity, imap_last_uid=last_uid)
    if updated:
        log.info("account %s: IMAP UIDVALIDITY is now %s; cursor reset", account.pk, uidvalidity)
        account.imap_uidvalidity, account.imap_last_uid = uidvalidity, last_uid


def _inbound_items(
    account: SendingAccount, mails: list[_RawMail], *, uidvalidity: int, now: dt.datetime
) -> list[InboundItem]:
    parsed = []
    for mail in mails:
        try:
            parsed.append((int(mail.uid), email.message_from_bytes(mail.raw, policy=email.policy.default)))
        except Exception:  # one broken mail must not stop the others
            log.warning("account %s: mail UID %s could not be parsed; skipped", account.pk, mail.uid, exc_info=True)
    candidates = {key for _, msg in parsed for key in _keys_mentioned(msg)}
    ours = {
        str(key)
        for key in OutreachMessage.objects.filter(idempotency_key__in=candidates).values_list(
            "idempotency_key", flat=True
        )
    }
    own_address = account.email_address.lower()
    items = []
    for uid, msg in parsed:
        if token := _unsubscribe_token(msg):
            # A mail to the List-Unsubscribe mailto address: an opt-out, never a reply.
            items.append(_unsubscribe_item(msg, token, uid=uid, uidvalidity=uidvalidity, now=now))
            continue
        try:
            item = _bounce_item(msg, uid=uid, uidvalidity=uidvalidity, ours=ours, now=now)
            if item is None and _address(_header(msg, "From")) != own_address and not _is_delivery_notice(msg):
                item = _reply_item(msg, uid=uid, uidvalidity=uidvalidity, ours=ours, now=now)
        except Exception:  # a mail we cannot make sense of is skipped for good: it would fail again
            log.warning("account %s: mail UID %s could not be read; skipped", account.pk, uid, exc_info=True)
            continue
        if item is not None:
            items.append(item)
    return items


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a malformed header the parser cannot even represent
        return ""
    return str(value or "").strip()


def _address(value: object) -> str:
    return parseaddr(str(value or ""))[1].strip().lower()


def _message_id(msg: Message) -> str:
    match = MESSAGE_ID.search(_header(msg, "Message-ID"))
    return match.group(0) if match else ""


def _keys_mentioned(msg: Message) -> list[str]:
    """UUIDs of `<uuid@…>` ids this mail answers: In-Reply-To first, then References newest first."""
    keys = UUID_MESSAGE_ID.findall(_header(msg, "In-Reply-To"))
    keys += reversed(UUID_MESSAGE_ID.findall(_header(msg, "References")))
    if original := _enclosed_original(msg):
        keys = UUID_MESSAGE_ID.findall(_header(original, "Message-ID")) + keys
    return [key.lower() for key in keys]


def _our_key(msg: Message, ours: set[str]) -> str:
    return next((key for key in _keys_mentioned(msg) if key in ours), "")


def _received_at(msg: Message, now: dt.datetime) -> dt.datetime:
    try:
        date = msg["Date"].datetime if msg["Date"] else None
    except Exception:
        date = None
    if date is None:
        return now
    if timezone.is_naive(date):
        date = date.replace(tzinfo=dt.UTC)
    return min(date, now)


def _unsubscribe_token(msg: Message) -> str:
    recipients = [_header(msg, name) for name in ("To", "Cc", "Delivered-To", "X-Original-To")]
    for _, address in getaddresses(recipients):
        if match := UNSUBSCRIBE_ADDRESS.match(address.strip()):
            return match.group(1)
    return ""


def _unsubscribe_item(msg: Message, token: str, *, uid: int, uidvalidity: int, now: dt.datetime) -> InboundItem:
    provider_id = inbound_provider_id(_message_id(msg), uidvalidity=uidvalidity, uid=uid)
    sender = _address(_header(msg, "From"))
    return InboundItem(
        provider_id=provider_id,
        sender_provider_id=sender or provider_id,
        sender_email=sender,
        text="",
        received_at=_received_at(msg, now),
        kind="unsubscribe",
        unsubscribe_token=token,
        position=uid,
    )


def _reply_item(msg: Message, *, uid: int, uidvalidity: int, ours: set[str], now: dt.datetime) -> InboundItem:
    sender = _address(_header(msg, "From"))
    provider_id = inbound_provider_id(_message_id(msg), uidvalidity=uidvalidity, uid=uid)
    return InboundItem(
        provider_id=provider_id,
        sender_provider_id=sender or provider_id,
        sender_email=sender,
        text=strip_quoted(_body_text(msg)),
        subject=_header(msg, "Subject")[:200],
        received_at=_received_at(msg, now),
        in_reply_to_key=_our_key(msg, ours),
        position=uid,
    )


# Bounces


def _recipient_blocks(msg: Message) -> list[Message]:
    """The per-recipient blocks of a delivery-status report (the first block is about the message)."""
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            return [b for b in blocks if isinstance(b, Message) and (b.get("Final-Recipient") or b.get("Action"))]
    return []


def _is_report(msg: Message) -> bool:
    return msg.get_content_type() == "multipart/report" and (msg.get_param("report-type") or "").lower() in (
        "delivery-status",
        "disposition-notification",
    )


def _is_delivery_notice(msg: Message) -> bool:
    """A report that is not a failure (delayed, delivered, read receipts): nobody wrote anything."""
    return _is_report(msg) or _address(_header(msg, "From")).partition("@")[0] in BOUNCE_SENDERS


def _enclosed_original(msg: Message) -> Message | None:
    if msg.get_content_maintype() != "multipart":
        return None
    for part in msg.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            return payload[0] if isinstance(payload, list) and payload else None
        if content_type == "text/rfc822-headers":
            return email.message_from_bytes(part.get_payload(decode=True) or b"", policy=email.policy.default)
    return None


def _recipient(value: str) -> str:
    """`rfc822; someone@example.com` → someone@example.com"""
    return value.rpartition(";")[2].strip().strip("<>").lower()


def _bounce_item(msg: Message, *, uid: int, uidvalidity: int, ours: set[str], now: dt.datetime) -> InboundItem | None:
    is_dsn = _is_report(msg) and (msg.get_param("report-type") or "").lower() == "delivery-status"
    if not is_dsn and _address(_header(msg, "From")).partition("@")[0] not in BOUNCE_SENDERS:
        return None
    blocks = _recipient_blocks(msg)
    actions = [str(block.get("Action", "")).strip().lower() for block in blocks]
    failed = [block for block, action in zip(blocks, actions, strict=True) if action in ("failed", "")]
    if blocks and not failed:
        return None  # delayed or delivered: not a bounce
    # Original-Recipient is the address as we gave it; Final-Recipient may be an alias it led to.
    addresses = [
        _recipient(str(block.get("Original-Recipient") or block.get("Final-Recipient") or "")) for block in failed
    ]
    addresses += [address for _, address in getaddresses([_header(msg, "X-Failed-Recipients")])]
    if original := _enclosed_original(msg):
        addresses += [address for _, address in getaddresses([_header(original, "To")])]
    address = next((a.lower() for a in addresses if "@" in a), "")
    key = _our_key(msg, ours)
    if not address and not key:
        return None  # about nobody we can name
    diagnostic = next((str(block.get("Diagnostic-Code")) for block in failed if block.get("Diagnostic-Code")), "")
    summary = _first_text(msg)
    provider_id = inbound_provider_id(_message_id(msg), uidvalidity=uidvalidity, uid=uid)
    return InboundItem(
        provider_id=provider_id,
        sender_provider_id=address or provider_id,
        sender_email=address,
        text="\n\n".join(part for part in (diagnostic, summary) if part)[:2000] or "Delivery failed.",
        subject=_header(msg, "Subject")[:200],
        received_at=_received_at(msg, now),
        in_reply_to_key=key,
        kind="bounce",
        position=uid,
    )


# Text


def _content(part: Message) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError, AttributeError):  # an unknown charset or a broken part
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def _first_text(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and not part.is_attachment():
            return _content(part).strip()
    return ""


def _body_text(msg: Message) -> str:
    body = msg.get_body(preferencelist=("plain", "html")) if isinstance(msg, ParsedMail) else None
    if body is None:
        return ""
    text = _content(body)
    return html_to_text(text) if body.get_content_type() == "text/html" else text


class _TextExtractor(HTMLParser):
    SKIP = {"script", "style", "head", "title", "blockquote"}
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"}
    VOID = {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base", "source"}
    QUOTE_CLASSES = {"gmail_quote", "moz-cite-prefix", "yahoo_quoted", "divrplyfwdmsg"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []  # the open elements whose content is dropped

    def handle_starttag(self, tag: str, attrs: list) -> None:
        classes = {word.lower() for name, value in attrs if name in ("class", "id") for word in (value or "").split()}
        if self.skipping or tag in self.SKIP or classes & self.QUOTE_CLASSES:
            if tag not in self.VOID:
                self.skipping.append(tag)
            return
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag in self.skipping:  # also closes what was left open inside it
                del self.skipping[len(self.skipping) - 1 - self.skipping[::-1].index(tag) :]
            return
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


QUOTE_HEADER = re.compile(
    r"^(On\b.*\bwrote:|(Am|Le|El|Il|Op)\b.*(schrieb|a écrit|escribió|ha scritto|schreef).*:|"
    r"-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}|_{10,})\s*$",
    re.I,
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: without the quoted history and the "On … wrote:" line before it."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        joined = f"{stripped} {lines[i + 1].strip()}" if i + 1 < len(lines) else stripped
        if QUOTE_HEADER.match(stripped) or (stripped.startswith("On ") and QUOTE_HEADER.match(joined)):
            break
        if stripped.startswith("From:") and any(
            following.strip().startswith(("Sent:", "Date:")) for following in lines[i + 1 : i + 4]
        ):
            break  # Outlook's quoted header block
        if not stripped.startswith(">"):
            kept.append(line.rstrip())
    result = "\n".join(kept).strip()
    return result or text.strip()
