"""Reads for the approval queue. Reps see the drafts of their own leads; managers see all."""

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from outreach.models import OutreachMessage
from salesdept.roles import is_manager


def messages_visible_to(user) -> QuerySet[OutreachMessage]:
    messages = OutreachMessage.objects.all()
    return messages if is_manager(user) else messages.filter(lead__owner=user)


def queue_for(user, *, campaign_id: int | None = None) -> QuerySet[OutreachMessage]:
    queue = (
        messages_visible_to(user)
        .filter(status=OutreachMessage.Status.PENDING_APPROVAL, blocked=False)
        .select_related("lead__company", "lead__owner", "campaign", "account")
        .annotate(effective_score=Coalesce("lead__score_override", "lead__score"))
        .order_by(F("effective_score").desc(nulls_last=True), "created_at", "pk")
    )
    return queue.filter(campaign_id=campaign_id) if campaign_id else queue


def blocked_for(user) -> QuerySet[OutreachMessage]:
    """Drafts a guardrail stopped: they wait for a regenerate, not for approval."""
    return (
        messages_visible_to(user)
        .filter(status=OutreachMessage.Status.PENDING_APPROVAL, blocked=True)
        .select_related("lead__company", "lead__owner", "campaign", "account")
        .order_by("created_at", "pk")
    )


def pending_count_for(user) -> int:
    return messages_visible_to(user).filter(status=OutreachMessage.Status.PENDING_APPROVAL, blocked=False).count()


def message_get_for_user(user, pk: int) -> OutreachMessage:
    """404 for a message the user may not see: another rep's work does not exist for them."""
    return get_object_or_404(
        messages_visible_to(user).select_related("lead__company", "campaign", "account", "decided_by"), pk=pk
    )
