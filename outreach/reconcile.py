"""Sends nobody is sure about: a person checks the channel and says what happened (the reads are in selectors).

A message whose outcome is unknown is never resent automatically (it may have reached the
prospect). Each decision here is a conditional UPDATE on the status the person saw, so when
two people act on the same message one wins and the other is told who got there first.
"""

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.lifecycle import Trigger, lead_transition
from leads.models import Activity, Lead
from leads.services import activity_record
from outreach.models import OutreachMessage
from outreach.selectors import TO_CHECK
from outreach.services import LEAD_PRIORITY
from salesdept import clock
from salesdept.errors import DecisionError
from salesdept.people import display_name

Status = OutreachMessage.Status
RECONCILE_VERBS = ("message.marked_sent", "message.resend_approved", "message.given_up")
APPROVE_PERMISSION = "outreach.approve_outreachmessage"


# Decisions --------------------------------------------------------------------------------------


def _refusal(message: OutreachMessage) -> DecisionError:
    """Why the message is no longer the person's to decide: who decided instead, and when."""
    current = OutreachMessage.objects.get(pk=message.pk)
    status = current.get_status_display().lower()
    decided = (
        Activity.objects.filter(message=message, verb__in=RECONCILE_VERBS)
        .select_related("actor")
        .order_by("-created_at", "-pk")
        .first()
    )
    if decided is None:
        return DecisionError(f"This message is {status} now: someone or something else changed it. Nothing was done.")
    who = display_name(decided.actor) or "the system"
    when = timezone.localtime(decided.created_at).strftime("%d %b %Y %H:%M")
    return DecisionError(f"{who} already decided at {when}: the message is {status}. Nothing was done.")


@transaction.atomic
def message_mark_sent(*, message: OutreachMessage, actor) -> OutreachMessage:
    """The person found the message in the channel: it counts as sent, like any other send."""
    now = clock.now()
    if not OutreachMessage.objects.filter(pk=message.pk, status=Status.UNKNOWN).update(
        status=Status.SENT, sent_at=Coalesce("sent_at", Value(now)), last_error=""
    ):
        raise _refusal(message)
    lead_transition(lead=message.lead, to=Lead.Status.CONTACTED, trigger=Trigger.FIRST_SEND, actor=actor, now=now)
    activity_record(
        verb="message.marked_sent", lead=message.lead, message=message, actor=actor, account=message.account_id
    )
    from proposals.services import proposal_sent_for  # proposals reads outreach: imported late

    proposal_sent_for(message=message, now=now)
    message.refresh_from_db()
    return message


@transaction.atomic
def message_resend(*, message: OutreachMessage, actor) -> OutreachMessage:
    """The person found no trace of it: approve it again, to go out in the account's next slot.

    The idempotency key is kept, so a provider that did receive the first attempt can still
    refuse the second as a duplicate.
    """
    if not actor.has_perm(APPROVE_PERMISSION):
        raise DecisionError("Your role cannot approve messages, so it cannot send one again.")
    lead_status = Lead.objects.filter(pk=message.lead_id).values_list("status", flat=True).first()
    if lead_status == Lead.Status.DO_NOT_CONTACT:
        raise DecisionError("This lead is marked do-not-contact: the message cannot be sent again. Give it up.")
    now = clock.now()
    if not OutreachMessage.objects.filter(pk=message.pk, status=Status.UNKNOWN).update(
        status=Status.APPROVED,
        priority=LEAD_PRIORITY,
        not_before=now,
        decided_by=actor,
        decided_at=now,
        last_error="",
    ):
        raise _refusal(message)
    activity_record(
        verb="message.resend_approved", lead=message.lead, message=message, actor=actor, error=message.last_error
    )
    from outreach.tasks import outreach_send_next_task

    if message.account_id:
        outreach_send_next_task.delay_on_commit(message.account_id)
    message.refresh_from_db()
    return message


@transaction.atomic
def message_give_up(*, message: OutreachMessage, actor) -> OutreachMessage:
    """Nothing more is done with this message; the lead's sequence is not touched."""
    if not OutreachMessage.objects.filter(pk=message.pk, status__in=TO_CHECK).update(status=Status.CANCELLED):
        raise _refusal(message)
    activity_record(
        verb="message.given_up",
        lead=message.lead,
        message=message,
        actor=actor,
        was=message.status,
        error=message.last_error,
    )
    message.refresh_from_db()
    return message
