"""The channel port: one small interface every sending adapter implements.

Adapters report normalised errors (DESIGN.md §6). A TRANSIENT error means the adapter made
sure nothing went out; when it cannot tell, it raises SendOutcomeUnknown instead, and a
person decides (a message is never resent blindly).
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
    TRANSIENT = "transient"
    FATAL = "fatal"


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str = ""
    chat_id: str = ""
    error: ChannelError | None = None
    detail: str = ""


@dataclass(frozen=True)
class InboundItem:
    provider_id: str  # unique per provider: the dedupe key
    sender_provider_id: str
    text: str
    received_at: dt.datetime
    in_reply_to_key: str = ""  # our idempotency key, when the provider can tell
    chat_id: str = ""


class SendOutcomeUnknown(Exception):
    """The request may have reached the provider: do not resend, ask a person."""


class Channel(Protocol):
    def send(self, message: "OutreachMessage") -> SendResult: ...

    def fetch_messages(
        self, account: "SendingAccount", *, since: dt.datetime, now: dt.datetime
    ) -> list[InboundItem]: ...
