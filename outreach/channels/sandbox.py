"""A simulated network: deliveries land in an outbox file, replies come back deterministically.

Whether a prospect accepts an invitation or replies, and what they say, is a pure function of
the seed and the message's idempotency key; both happen SANDBOX_REPLY_DELAY_SECONDS after the
send. A lead whose provider id contains `inject-<error>` makes the send fail with that error;
`inject-unknown` times out after the request left; `inject-slow` delivers, then takes SANDBOX_SLOW_SECONDS to answer.
"""

import datetime as dt
import hashlib
import json
import os
import time

from django.conf import settings

from outreach.channels.base import ChannelError, InboundItem, PendingInvite, Relation, SendOutcomeUnknown, SendResult
from outreach.models import OutreachMessage, SendingAccount
from salesdept import clock

REPLIES = [
    ("Thanks for reaching out, sounds good. Happy to chat next week.", 4),
    ("Could you send me more details about the pricing?", 2),
    ("Thanks, but we're not interested at the moment.", 2),
    ("Not now, we're busy with year-end. Try again in March.", 1),
    ("I'm not the right person. Please speak to Dana Whitfield, our Head of Partnerships.", 1),
    ("I am out of office until Monday with limited access to messages.", 1),
    ("Please remove me from your list.", 1),
]


def _fraction(*parts: object) -> float:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def accepts(key: str) -> bool:
    """Whether the simulated prospect accepts the invitation sent with this key."""
    return _fraction(settings.SANDBOX_SEED, key, "accepts") < settings.SANDBOX_ACCEPT_RATE


def reply_text_for(key: str) -> str | None:
    """What the simulated prospect answers to the message with this key, if anything."""
    if _fraction(settings.SANDBOX_SEED, key, "replies") >= settings.SANDBOX_REPLY_RATE:
        return None
    point = _fraction(settings.SANDBOX_SEED, key, "text") * sum(weight for _, weight in REPLIES)
    for text, weight in REPLIES:
        point -= weight
        if point < 0:
            return text
    return REPLIES[-1][0]


class SandboxChannel:
    def send(self, message: OutreachMessage) -> SendResult:
        provider_id = message.lead.provider_id
        for error in ChannelError:
            if f"inject-{error.value}" in provider_id:
                return SendResult(error=error, detail=f"sandbox: injected {error.value}")
        if "inject-unknown" in provider_id:
            raise SendOutcomeUnknown("sandbox: injected timeout after the request left")
        line = json.dumps(
            {
                "key": str(message.idempotency_key),
                "account": message.account_id,
                "to": provider_id,
                "kind": message.kind,
                "subject": message.subject,
                "body": message.body,
            }
        )
        path = settings.SANDBOX_OUTBOX
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write() of one line with O_APPEND: concurrent workers never interleave lines.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        if "inject-slow" in provider_id:  # delivered, but the answer is slow to come back
            time.sleep(settings.SANDBOX_SLOW_SECONDS)
        return SendResult(provider_message_id=f"sandbox-{message.idempotency_key}", chat_id=f"chat-{provider_id}")

    def fetch_messages(self, account: SendingAccount, *, since: dt.datetime, now: dt.datetime) -> list[InboundItem]:
        delay = dt.timedelta(seconds=settings.SANDBOX_REPLY_DELAY_SECONDS)
        sent = OutreachMessage.objects.filter(
            account=account,
            status=OutreachMessage.Status.SENT,
            sent_at__gte=since - delay,
            sent_at__lte=now - delay,
        ).select_related("lead")
        items = []
        for message in sent:
            key = str(message.idempotency_key)
            if text := reply_text_for(key):
                items.append(
                    InboundItem(
                        provider_id=f"sandbox:{key}:reply",
                        sender_provider_id=message.lead.provider_id,
                        text=text,
                        received_at=message.sent_at + delay,
                        in_reply_to_key=key,
                        chat_id=message.chat_id,
                    )
                )
        return items

    def acknowledge(self, account: SendingAccount, items: list[InboundItem]) -> None:
        """Windowed polling: nothing to move."""

    def _invites(self, account: SendingAccount):
        return OutreachMessage.objects.filter(
            account=account, kind=OutreachMessage.Kind.CONNECTION_NOTE, status=OutreachMessage.Status.SENT
        ).select_related("lead")

    def list_relations(self, account: SendingAccount, *, since: dt.datetime) -> list[Relation]:
        delay = dt.timedelta(seconds=settings.SANDBOX_REPLY_DELAY_SECONDS)
        now = clock.now()
        return [
            Relation(provider_id=invite.lead.provider_id, connected_at=invite.sent_at + delay)
            for invite in self._invites(account).filter(sent_at__gte=since - delay, sent_at__lte=now - delay)
            if invite.withdrawn_at is None and accepts(str(invite.idempotency_key))
        ]

    def list_pending_invites(self, account: SendingAccount) -> list[PendingInvite]:
        return [
            PendingInvite(
                invitation_id=f"sandbox-invite-{invite.pk}", provider_id=invite.lead.provider_id, sent_at=invite.sent_at
            )
            for invite in self._invites(account).filter(accepted_at__isnull=True, withdrawn_at__isnull=True)
        ]

    def withdraw_invite(self, account: SendingAccount, *, invitation_id: str) -> None:
        """The simulated network forgets it; the caller records the withdrawal."""
