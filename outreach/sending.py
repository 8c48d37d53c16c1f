"""Exactly-once sending within the account's limits, and what each channel answer does.

Side effects on other systems happen outside database transactions: the claim commits first.
"""

import datetime as dt
import logging
import random

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from campaigns.models import Campaign
from leads.models import Lead
from leads.services import activity_record
from outreach import limits
from outreach.channels.base import ChannelError, SendOutcomeUnknown, SendResult
from outreach.channels.registry import channel_for
from outreach.models import OutreachMessage, SendingAccount
from outreach.services import STOPPED_LEAD_STATUSES

log = logging.getLogger(__name__)
Status = OutreachMessage.Status
# A send still `sending` after the task's hard time limit and this margin never finished.
STUCK_AFTER = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + dt.timedelta(minutes=5)
# An answer to a reply goes to someone who wrote to us (replied, interested, snoozed...): only an
# opt-out stops it. A newer reply cancels it while it still waits (messages_cancel_for_lead).
ANSWER_STOPPED_LEAD_STATUSES = (Lead.Status.DO_NOT_CONTACT,)


def outreach_dispatch(*, now: dt.datetime) -> list[int]:
    """The minutely tick: ask for one send on each account that is open and has due work."""
    from outreach.tasks import outreach_send_next_task

    due = OutreachMessage.objects.filter(
        account=OuterRef("pk"), status=Status.APPROVED, not_before__lte=now, campaign__status=Campaign.Status.ACTIVE
    )
    accounts = [
        account
        for account in SendingAccount.objects.filter(is_active=True, health=SendingAccount.Health.OK)
        .filter(Q(next_send_at__isnull=True) | Q(next_send_at__lte=now))
        .filter(Exists(due))
        if limits.in_window(account, now)
    ]
    for account in accounts:
        outreach_send_next_task.delay(account.pk)
    return [account.pk for account in accounts]


def outreach_send_next(*, account_id: int, now: dt.datetime | None = None) -> str:
    """Claim and send at most one approved message of the account. Returns what happened.

    The claim (gap, daily cap, status) commits before the provider is called, so a second
    worker can never send the same message, and a crash after the call leaves the message
    `sending` for the sweeper to mark `unknown`: never resent blindly.
    """
    now = now or timezone.now()
    account = SendingAccount.objects.get(pk=account_id)
    if not account.is_active or account.health != SendingAccount.Health.OK:
        return "paused"
    if not limits.in_window(account, now):
        return "closed"
    if account.next_send_at and account.next_send_at > now:
        return "gap"
    with transaction.atomic():
        message = (
            OutreachMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("lead", "campaign", "account")
            .filter(
                account=account, status=Status.APPROVED, not_before__lte=now, campaign__status=Campaign.Status.ACTIVE
            )
            .order_by("not_before", "pk")
            .first()
        )
        if message is None:
            return "idle"
        stopped = ANSWER_STOPPED_LEAD_STATUSES if message.reply_to_id else STOPPED_LEAD_STATUSES
        if message.lead.status in stopped:
            _cancel(message, f"Lead is {message.lead.get_status_display().lower()}")
            return "cancelled"
        if not limits.cap_take(account, message.kind, now):
            OutreachMessage.objects.filter(pk=message.pk).update(not_before=limits.next_day_window(account, now))
            return "cap"
        gap = dt.timedelta(seconds=random.randint(account.min_gap_seconds, account.max_gap_seconds))
        if (
            not SendingAccount.objects.filter(pk=account.pk)
            .filter(Q(next_send_at__isnull=True) | Q(next_send_at__lte=now))
            .update(next_send_at=now + gap)
        ):
            transaction.set_rollback(True)  # another worker just sent: give the cap slot back
            return "gap"
        if not OutreachMessage.objects.filter(pk=message.pk, status=Status.APPROVED).update(
            status=Status.SENDING, sending_started_at=now, attempts=F("attempts") + 1
        ):
            transaction.set_rollback(True)
            return "lost"
        activity_record(verb="message.sending", lead=message.lead, message=message, account=account.pk)
    try:
        result = channel_for(account.channel).send(message)
    except SendOutcomeUnknown as exc:
        _mark_unknown(message, str(exc))
        return "unknown"
    return outreach_record_result(message=message, result=result, now=now)


def _cancel(message: OutreachMessage, reason: str) -> None:
    if OutreachMessage.objects.filter(pk=message.pk, status=message.status).update(
        status=Status.CANCELLED, last_error=reason
    ):
        activity_record(verb="message.cancelled", lead=message.lead, message=message, reason=reason)


def _mark_unknown(message: OutreachMessage, reason: str) -> None:
    with transaction.atomic():
        if OutreachMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
            status=Status.UNKNOWN, last_error=reason
        ):
            activity_record(verb="message.unknown", lead=message.lead, message=message, reason=reason)


def _send_back(message: OutreachMessage, *, not_before: dt.datetime, error: str, now: dt.datetime) -> None:
    """Nothing went out: the message waits again and its cap slot is returned."""
    if OutreachMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
        status=Status.APPROVED, not_before=not_before, last_error=error
    ):
        limits.cap_refund(message.account, message.kind, now)


@transaction.atomic
def outreach_record_result(*, message: OutreachMessage, result: SendResult, now: dt.datetime) -> str:
    account = message.account
    if result.error is None:
        if OutreachMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
            status=Status.SENT,
            sent_at=now,
            provider_message_id=result.provider_message_id,
            chat_id=result.chat_id,
            last_error="",
        ):
            Lead.objects.filter(pk=message.lead_id, status=Lead.Status.QUALIFIED).update(status=Lead.Status.CONTACTED)
            activity_record(verb="message.sent", lead=message.lead, message=message, account=account.pk)
        return "sent"
    detail = f"{result.error.value}: {result.detail}"
    log.warning("send of message %s failed: %s", message.pk, detail)
    activity_record(verb=f"message.{result.error.value}", lead=message.lead, message=message, detail=result.detail)
    match result.error:
        case ChannelError.RATE_LIMITED:
            _send_back(message, not_before=limits.next_day_window(account, now), error=detail, now=now)
        case ChannelError.TRANSIENT:
            _send_back(message, not_before=now + dt.timedelta(minutes=5), error=detail, now=now)
        case ChannelError.ACCOUNT_DISCONNECTED:
            _send_back(message, not_before=now, error=detail, now=now)
            SendingAccount.objects.filter(pk=account.pk).update(
                health=SendingAccount.Health.AUTH_ERROR, health_reason=result.detail[:300]
            )
        case ChannelError.DUPLICATE:
            OutreachMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
                status=Status.CANCELLED, last_error=detail
            )
        case _:
            OutreachMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
                status=Status.FAILED, last_error=detail
            )
    return result.error.value


def sends_mark_stuck_unknown(*, now: dt.datetime) -> int:
    """A send still `sending` long after its task's hard limit died mid-flight: a person decides."""
    stuck = OutreachMessage.objects.filter(status=Status.SENDING, sending_started_at__lt=now - STUCK_AFTER)
    count = 0
    for message in stuck.select_related("lead"):
        _mark_unknown(message, "The send did not finish; check the conversation before sending again.")
        count += 1
    return count
