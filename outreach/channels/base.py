"""The channel port: one small interface every sending adapter implements.

Adapters report normalised errors (DESIGN.md §6). A TRANSIENT error means the adapter made
sure nothing went out; when it cannot tell, it raises SendOutcomeUnknown instead, and a
person decides (a message is never resent blindly). Vendor field names stay in the adapter.
"""

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from outreach.models import OutreachMessage, SendingAccount


class ChannelError(StrEnum):
    RATE_LIMITED = "rate_limited"
    DUPLICATE = "duplicate"
    NOT_CONNECTED = "not_connected"
    ACCOUNT_DISCONNECTED = "account_disconnected"
    # The account may not do this at all (restricted, plan or permission missing): pause it.
    ACCOUNT_RESTRICTED = "account_restricted"
    TRANSIENT = "transient"
    # The person's LinkedIn id had to be read from their profile, and the account's profile views for
    # today are used up: nothing went out, the message waits for tomorrow's sending window.
    PROFILE_VIEWS_USED = "profile_views_used"
    FATAL = "fatal"


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str = ""  # message id, invitation id or the email's Message-ID
    chat_id: str = ""
    quota_used_pct: int | None = None  # the provider's own "usage" figure, when it gives one
    error: ChannelError | None = None
    detail: str = ""  # the provider's error type, kept on the Activity row


@dataclass(frozen=True)
class InboundItem:
    provider_id: str  # unique per provider: the dedupe key
    sender_provider_id: str
    text: str
    received_at: dt.datetime
    in_reply_to_key: str = ""  # our idempotency key, when the provider can tell
    chat_id: str = ""
    sender_email: str = ""
    subject: str = ""
    # "reply"; "bounce": a delivery failure report about `sender_email`, not a person writing;
    # "unsubscribe": a mail to the List-Unsubscribe address carrying `unsubscribe_token`.
    kind: str = "reply"
    unsubscribe_token: str = ""
    # Where the channel's read cursor may move once this item is stored (IMAP: the UID).
    position: int | None = None


@dataclass(frozen=True)
class Relation:
    """A first-degree connection: an invitation we sent was accepted."""

    provider_id: str
    connected_at: dt.datetime


@dataclass(frozen=True)
class PendingInvite:
    invitation_id: str
    provider_id: str
    sent_at: dt.datetime


class SendOutcomeUnknown(Exception):
    """The request may have reached the provider: do not resend, ask a person."""


class ChannelUnavailable(Exception):
    """Reading from the provider failed (network, auth); nothing was changed, try again later."""


class Channel(Protocol):
    def send(self, message: "OutreachMessage") -> SendResult: ...

    def fetch_messages(
        self, account: "SendingAccount", *, since: dt.datetime, now: dt.datetime
    ) -> list[InboundItem]: ...

    def acknowledge(self, account: "SendingAccount", items: list[InboundItem]) -> None:
        """Move the read cursor past items that are now stored (no-op for windowed polling)."""

    def list_relations(self, account: "SendingAccount", *, since: dt.datetime) -> list[Relation]: ...

    def list_pending_invites(self, account: "SendingAccount") -> list[PendingInvite]: ...

    def withdraw_invite(self, account: "SendingAccount", *, invitation_id: str) -> None: ...
