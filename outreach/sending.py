"""Exactly-once sending within the account's limits, and what each channel answer does.

Future work lives in the database: an approved message waits with its `not_before`, and a
minutely tick asks each open account for its next one. Side effects on other systems happen
outside database transactions: the claim commits first.
"""

import datetime as dt
import logging
import random

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.urls import reverse

from campaigns.kinds import kind_rules
from campaigns.models import Campaign
from leads.enrolments import enrolment_step_sent
from leads.lifecycle import ANSWERS_STOPPED, SEQUENCE_STOPPED, Trigger, lead_transition
from leads.models import Enrolment, Lead
from leads.services import activity_record
from leads.suppression import suppressed
from outreach import limits
from outreach.accounts import account_pause
from outreach.channels.base import ChannelError, SendOutcomeUnknown, SendResult
from outreach.channels.registry import channel_for
from outreach.models import OutreachMessage, SendingAccount
from outreach.services import LEAD_PRIORITY, WRITTEN_STEP, lead_priority
from salesdept import clock
from salesdept.logcontext import lead_bound
from salesdept.notifications import notify

log = logging.getLogger(__name__)
Status, Kind = OutreachMessage.Status, OutreachMessage.Kind
Health = SendingAccount.Health
# A send still `sending` after the task's hard time limit and this margin never finished.
STUCK_AFTER = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + dt.timedelta(minutes=5)
# Candidates looked at per claim: enough to step over prospects outside their working hours.
CANDIDATES = 20
# Transient errors: retried after 5, 10, 20, 40 minutes, then the message fails with the reason.
TRANSIENT_RETRIES = 4
TRANSIENT_FIRST_WAIT = dt.timedelta(minutes=5)
# The provider's quota gauge (Unipile "usage", in percent) at which invitations stop for the day.
QUOTA_STOP_PCT = 90
HOUR = dt.timedelta(hours=1)


def _due(now: dt.datetime):
    return OutreachMessage.objects.filter(
        status=Status.APPROVED, not_before__lte=now, campaign__status=Campaign.Status.ACTIVE
    )


def outreach_dispatch(*, now: dt.datetime) -> list[int]:
    """The minutely tick: ask for one send on each account that is open and has due work."""
    from outreach.tasks import outreach_send_next_task

    accounts = [
        account
        for account in SendingAccount.objects.filter(is_active=True, health=Health.OK)
        .filter(Q(next_send_at__isnull=True) | Q(next_send_at__lte=now))
        .filter(Exists(_due(now).filter(account=OuterRef("pk"))))
        if limits.in_window(account, now)
    ]
    for account in accounts:
        outreach_send_next_task.delay(account.pk)
    return [account.pk for account in accounts]


def outreach_send_next(*, account_id: int, now: dt.datetime | None = None) -> str:
    """Claim and send at most one approved message of the account. Returns what happened.

    The best-scored due message goes first (its lead's ranked score, copied onto the message as
    `priority`), then the longest waiting. The claim (re-checks, daily cap, gap, status) commits
    before the provider is called, so a second worker can never send the same message, and a
    crash after the call leaves the message `sending` for the sweeper to mark `unknown`: never
    resent blindly.
    """
    now = now or clock.now()
    account = SendingAccount.objects.get(pk=account_id)
    if not account.is_active or account.health != Health.OK:
        return "paused"
    if not limits.in_window(account, now):
        return "closed"
    if account.next_send_at and account.next_send_at > now:
        return "gap"
    kinds = limits.open_message_kinds(account, now)
    if not kinds:
        return "cap"
    candidates = [
        m.pk
        for m in _due(now)
        .filter(account=account, kind__in=kinds)
        .select_related("lead")
        .only("pk", "lead__timezone")
        .order_by("-priority", "decided_at", "pk")[:CANDIDATES]  # message_send_order_idx
        if limits.in_prospect_window(account, m.lead.timezone, now)
    ]
    if not candidates:
        return "cap" if _due(now).filter(account=account).exclude(kind__in=kinds).exists() else "idle"
    with transaction.atomic():
        message = _lock_first(candidates, now)
        if message is None:
            return "busy"  # other workers hold every candidate
        if message.lead.status == Lead.Status.SNOOZED and not _outside_sequence(message):
            # Approved before the snooze: it keeps its approval and waits for the lead to wake.
            wake = message.lead.snoozed_until or (now + dt.timedelta(days=1)).date()
            not_before = max(dt.datetime.combine(wake, account.work_start, tzinfo=account.tz), now + HOUR)
            OutreachMessage.objects.filter(pk=message.pk).update(not_before=not_before)
            return "snoozed"
        if reason := _stop_reason(message):
            _cancel(message, reason)
            return "cancelled"
        locked = _person_lock(message)
        if locked is None:
            return "busy"  # another campaign's send to this person is being claimed right now
        if locked.suppressed:  # asked holding the person: an opt-out committed before the lock is seen
            _cancel(message, "The person is on the suppression list")
            return "cancelled"
        if locked.enrolment_stopped and not _outside_sequence(message):
            _cancel(message, "The person's place in this campaign was stopped")
            return "cancelled"
        if wait_until := _contact_budget_wait(message, now):
            OutreachMessage.objects.filter(pk=message.pk).update(not_before=wait_until)
            activity_record(verb="message.held", lead=message.lead, message=message, until=wait_until.isoformat())
            return "budget"
        if not limits.cap_take(account, message.kind, now):
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
    with lead_bound(message.lead_id):  # the send's log lines name the lead (its id)
        return _send_claimed(message, account, now)


def _send_claimed(message: OutreachMessage, account: SendingAccount, now: dt.datetime) -> str:
    log.info("sending message %s (attempt %s) from account %s", message.pk, message.attempts + 1, account.pk)
    message.attempts += 1
    try:
        result = channel_for(account.channel).send(message)
    except SendOutcomeUnknown as exc:
        _mark_unknown(message, str(exc))
        return "unknown"
    except Exception as exc:  # a bug or an unexpected answer after the claim: nobody knows if it went
        log.exception("send of message %s raised", message.pk)
        _mark_unknown(message, f"The send raised {type(exc).__name__}; check before sending again.")
        return "unknown"
    return outreach_record_result(message=message, result=result, now=now)


def _lock_first(candidate_ids: list[int], now: dt.datetime) -> OutreachMessage | None:
    """Lock the first candidate nobody else holds and that is still due: one row, not the whole list."""
    for pk in candidate_ids:
        message = (
            _due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("lead", "campaign", "account")
            .filter(pk=pk)
            .first()
        )
        if message is not None:
            return message
    return None


def _outside_sequence(message: OutreachMessage) -> bool:
    """An answer to a reply, a message a rep wrote themselves or one their task asked for: no step of the sequence."""
    return bool(message.reply_to_id or message.task_id) or message.step == WRITTEN_STEP


def _stop_reason(message: OutreachMessage) -> str:
    """Why this message may no longer go at all (checked again at the moment of sending)."""
    lead = message.lead
    # An answer goes to someone who wrote to us (replied, interested, snoozed...), and a rep's own
    # message or a rep's task's message to whoever they chose: only an opt-out stops these. A newer
    # reply cancels any of them while it still waits (messages_cancel_for_lead).
    stopped = ANSWERS_STOPPED if _outside_sequence(message) else SEQUENCE_STOPPED
    if lead.status in stopped:
        return f"Lead is {lead.get_status_display().lower()}"
    if message.kind == Kind.EMAIL and lead.email_bounced_at:
        return "Mail to this address bounced"
    return ""


def _person_lock(message: OutreachMessage) -> Lead | None:
    """Hold the person's row until the claim commits, so the contact budget is read once per person.

    Two accounts (two campaigns, two reps) may claim a message to the same person at once; each
    locks only its own message row, so without this both could read "no touch yet" and both
    send. Skip-locked: the loser gets None and does not wait (nor deadlock with a reply that
    holds the person and cancels their messages); its message stays approved for the next tick.
    The row comes with whether the person is on the suppression list and whether their place in the
    message's campaign was stopped: asked in the statement that takes the lock, not one each before it.
    """
    stopped = Enrolment.objects.filter(
        lead=OuterRef("pk"), campaign_id=message.campaign_id, status=Enrolment.Status.STOPPED
    )
    return (
        Lead.objects.select_for_update(skip_locked=True)
        .filter(pk=message.lead_id)
        .annotate(suppressed=suppressed(message.lead), enrolment_stopped=Exists(stopped))
        .only("pk")
        .first()
    )


# A touch counts from when its send began: one `sending` (or `unknown`: it may have gone) is a
# touch already, so a second campaign's message waits for it rather than racing it.
TOUCHED = (Status.SENT, Status.SENDING, Status.UNKNOWN)


def _contact_budget_wait(message: OutreachMessage, now: dt.datetime) -> dt.datetime | None:
    """One contact budget per person, across campaigns, reps and channels: when it next allows a touch.

    An answer to the person's own reply is a conversation, not a touch: it is never held.
    """
    if message.reply_to_id:
        return None
    return contact_budget_wait(lead_id=message.lead_id, now=now, besides=message.pk)


def contact_budget_wait(*, lead_id: int, now: dt.datetime, besides: int | None = None) -> dt.datetime | None:
    """When the person's contact budget next allows a touch; None: it allows one now.

    `besides`: the message asking, which is not a touch of its own yet. Nurturing asks before it
    suggests anything (library.nurture), the send asks again before it sends.
    """
    window_start = now - dt.timedelta(days=settings.CONTACT_WINDOW_DAYS)
    touches = list(
        OutreachMessage.objects.filter(lead=lead_id, status__in=TOUCHED, reply_to__isnull=True)
        .exclude(pk=besides)
        .annotate(touched_at=Coalesce("sent_at", "sending_started_at"))
        .filter(touched_at__gte=window_start)
        .order_by("touched_at")
        .values_list("touched_at", flat=True)
    )
    waits = []
    if touches and (gap_end := touches[-1] + dt.timedelta(days=settings.CONTACT_MIN_GAP_DAYS)) > now:
        waits.append(gap_end)
    if len(touches) >= settings.CONTACT_MAX_TOUCHES:
        waits.append(touches[-settings.CONTACT_MAX_TOUCHES] + dt.timedelta(days=settings.CONTACT_WINDOW_DAYS))
    return max(waits) if waits else None


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
        status=Status.APPROVED, priority=LEAD_PRIORITY, not_before=not_before, last_error=error
    ):
        limits.cap_refund(message.account, message.kind, now)


def _fail(message: OutreachMessage, error: str, status: str = Status.FAILED) -> bool:
    return bool(
        OutreachMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(status=status, last_error=error)
    )


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
            lead_transition(lead=message.lead, to=Lead.Status.CONTACTED, trigger=Trigger.FIRST_SEND, now=now)
            activity_record(verb="message.sent", lead=message.lead, message=message, account=account.pk)
            from proposals.services import proposal_sent_for  # proposals reads outreach: imported late

            proposal_sent_for(message=message, now=now)
            if not _outside_sequence(message):
                enrolment_step_sent(lead_id=message.lead_id, campaign_id=message.campaign_id, step=message.step)
        if result.quota_used_pct is not None and result.quota_used_pct >= QUOTA_STOP_PCT:
            limits.kind_close(account, message.kind, now)
        return "sent"
    detail = f"{result.error.value}: {result.detail}"
    log.warning("send of message %s failed: %s", message.pk, detail)
    activity_record(verb=f"message.{result.error.value}", lead=message.lead, message=message, detail=result.detail)
    match result.error:
        case ChannelError.RATE_LIMITED:
            _send_back(message, not_before=limits.next_day_window(account, now), error=detail, now=now)
            if limits.kind_close(account, message.kind, now):
                hours = settings.RATE_LIMIT_PAUSE_HOURS
                account_pause(
                    account=account,
                    health=Health.PAUSED,
                    reason=f"Rate limited on two sending days running; resting for {hours} h.",
                    until=now + dt.timedelta(hours=hours),
                )
        case ChannelError.PROFILE_VIEWS_USED:
            _send_back(message, not_before=limits.next_day_window(account, now), error=detail, now=now)
        case ChannelError.TRANSIENT:
            if message.attempts > TRANSIENT_RETRIES:
                if _fail(message, f"Gave up after {message.attempts} attempts. {detail}"):
                    limits.cap_refund(account, message.kind, now)
            else:
                wait = TRANSIENT_FIRST_WAIT * 2 ** (message.attempts - 1)
                _send_back(message, not_before=now + wait, error=detail, now=now)
        case ChannelError.ACCOUNT_DISCONNECTED:
            _send_back(message, not_before=now, error=detail, now=now)
            account_pause(account=account, health=Health.AUTH_ERROR, reason=result.detail or "Disconnected")
        case ChannelError.ACCOUNT_RESTRICTED:
            _send_back(message, not_before=now, error=detail, now=now)
            account_pause(account=account, health=Health.RESTRICTED, reason=result.detail or "Restricted")
        case ChannelError.DUPLICATE:  # the provider refused: nothing went out, the slot comes back
            if _fail(message, detail, status=Status.CANCELLED):
                limits.cap_refund(account, message.kind, now)
        case ChannelError.NOT_CONNECTED:
            if _fail(message, detail):
                limits.cap_refund(account, message.kind, now)
                message_reroute(message=message, reason=result.detail)
        case _:
            if _fail(message, detail):
                limits.cap_refund(account, message.kind, now)
    return result.error.value


def _account_for_kind(message: OutreachMessage, kind: str) -> SendingAccount | None:
    """An account of the campaign that can send `kind`: a real one of that channel first, the same one if it can."""
    natural = SendingAccount.Channel.EMAIL if kind == Kind.EMAIL else SendingAccount.Channel.UNIPILE
    candidates = {message.account, *message.campaign.sending_accounts.filter(is_active=True)}
    able = [a for a in candidates if a.channel in SendingAccount.channels_for(kind)]
    return min(
        able,
        key=lambda a: (a.channel != natural, a != message.account, a.owner_id != message.lead.owner_id, a.pk),
        default=None,
    )


def _reachable(lead: Lead, kind: str) -> bool:
    if kind == Kind.EMAIL:
        return bool(lead.email) and lead.email_bounced_at is None
    return bool(lead.provider_id)


@transaction.atomic
def message_reroute(*, message: OutreachMessage, reason: str) -> OutreachMessage | None:
    """The recipient cannot be reached this way: draft the next way for approval, or mark them unreachable.

    An invitation comes before email; a kind already tried for this person is not tried again.
    The new draft goes through the approval queue like any other message.
    """
    from outreach.tasks import messages_fill_task

    lead = Lead.objects.get(pk=message.lead_id)
    tried = set(
        OutreachMessage.objects.filter(lead=lead).exclude(status=Status.CANCELLED).values_list("kind", flat=True)
    )
    for kind in kind_rules(message.kind).reroutes:
        if kind in tried - {message.kind} or not _reachable(lead, kind):
            continue
        if (account := _account_for_kind(message, kind)) is None:
            continue
        rerouted = OutreachMessage.objects.create(
            lead=lead,
            campaign=message.campaign,
            account=account,
            step=message.step,
            kind=kind,
            rerouted_from=message,
            status=Status.GENERATING,
            priority=lead_priority(lead),
            instruction=f"{message.get_kind_display()} could not reach them ({reason[:120]}); say it fresh.",
        )
        activity_record(verb="message.rerouted", lead=lead, message=rerouted, kind=kind, reason=reason[:300])
        messages_fill_task.delay_on_commit([rerouted.pk])
        return rerouted
    if Lead.objects.filter(pk=lead.pk, unreachable=False).update(unreachable=True):
        activity_record(verb="lead.unreachable", lead=lead, message=message, reason=reason[:300])
        notify(
            user=lead.owner,
            text=f"{lead.full_name} cannot be reached on any channel we have: {reason}"[:300],
            url=reverse("leads:detail", args=[lead.pk]),
        )
    return None


def sends_mark_stuck_unknown(*, now: dt.datetime) -> int:
    """A send still `sending` long after its task's hard limit died mid-flight: a person decides."""
    stuck = OutreachMessage.objects.filter(status=Status.SENDING, sending_started_at__lt=now - STUCK_AFTER)
    count = 0
    for message in stuck.select_related("lead"):
        _mark_unknown(message, "The send did not finish; check the conversation before sending again.")
        count += 1
    return count
