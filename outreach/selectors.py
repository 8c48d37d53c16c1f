"""Reads on outreach, scoped like leads: reps see their own leads' conversations, managers all."""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from outreach.models import InboundMessage, OutreachMessage
from salesdept.roles import REP, is_manager


def inbox_for(user, *, intent: str = "", rep_id: int | None = None) -> QuerySet[InboundMessage]:
    """Replies newest first, each with its lead, the message it answers and any suggested answer.

    `rep_id` narrows a manager's view to one rep's leads; a rep's view is theirs whatever it says.
    """
    replies = InboundMessage.objects.all() if is_manager(user) else InboundMessage.objects.filter(lead__owner=user)
    if rep_id is not None:
        replies = replies.filter(lead__owner_id=rep_id)
    if intent:
        replies = replies.filter(intent=intent)
    answers = OutreachMessage.objects.only("pk", "reply_to_id", "status", "blocked").order_by("pk")
    return (
        replies.select_related("lead__company", "lead__owner", "in_reply_to")
        .prefetch_related(Prefetch("suggested_answers", queryset=answers))
        .order_by("-received_at", "-pk")
    )


def inbox_reps() -> QuerySet:
    """The reps a manager can narrow the inbox to."""
    return get_user_model().objects.filter(groups__name=REP).order_by("first_name", "last_name", "email")
