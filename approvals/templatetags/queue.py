"""What a queue item shows beyond its own fields."""

import datetime as dt
from dataclasses import dataclass

from django import template

from outreach import guardrails

register = template.Library()


@register.filter
def sign_off(body: str) -> str:
    """Where `e` puts the caret: before this block at the end of the draft, not after the signature."""
    return guardrails.sign_off(body or "")


@dataclass(frozen=True)
class Turn:
    at: dt.datetime
    ours: bool
    text: str
    label: str


@register.filter
def conversation(lead) -> list[Turn]:
    """The messages sent to the lead and its replies, oldest first (both prefetched by the selector)."""
    sent = [
        Turn(message.sent_at, True, message.body, message.get_kind_display())
        for message in getattr(lead, "sent_messages", ())
    ]
    replies = [
        Turn(reply.received_at, False, reply.text, reply.get_intent_display() if reply.intent else "Reply")
        for reply in getattr(lead, "replies", ())
    ]
    return sorted(sent + replies, key=lambda turn: turn.at)
