"""What a queue item shows beyond its own fields."""

import datetime as dt
import functools
from dataclasses import dataclass

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html_join

from approvals.forms import SNOOZE_DAYS
from outreach import guardrails
from salesdept.db import one_to_one

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


# `item|one_to_one:"nurture"`: the item's reverse one-to-one, or None. The template's own lookup of
# a missing one lists the model's attributes (dir) on every use: a few on each card added up to a
# tenth of the queue's rendering.
register.filter("one_to_one", one_to_one)


_PK_MARK = "987654321987"


@functools.cache
def _url_with_mark(name: str, prefix: str) -> str:
    return reverse(name, args=[int(_PK_MARK)])


@register.simple_tag
def item_url(name: str, pk: int) -> str:
    """`{% url name pk %}` for a card's links and forms, reversed once per name rather than once per card."""
    return _url_with_mark(name, get_script_prefix()).replace(_PK_MARK, str(pk))


_SNOOZE_OPTIONS = format_html_join("", '<option value="{}">{}</option>', SNOOZE_DAYS)


@register.simple_tag
def snooze_options() -> str:
    """The snooze menu's options: the same on every card, so built once, not looped on each."""
    return _SNOOZE_OPTIONS
