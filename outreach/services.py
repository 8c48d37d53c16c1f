"""Writes on outreach: drafting, the human decision, exactly-once sending, replies.

Every status change is a conditional UPDATE (one winner; the loser is told why) and writes
an Activity row. Side effects on other systems happen outside database transactions.
"""

import datetime as dt
import logging
import random

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from campaigns.models import Campaign, SequenceStep
from campaigns.services import campaign_brief
from leads.models import Lead
from leads.services import activity_record, lead_facts, lead_set_do_not_contact
from outreach import limits
from outreach.channels.base import ChannelError, InboundItem, SendOutcomeUnknown, SendResult
from outreach.channels.registry import channel_for
from outreach.guardrails import check_draft
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from salesdept import llm

log = logging.getLogger(__name__)
Status = OutreachMessage.Status
OPEN_STATUSES = (Status.GENERATING, Status.PENDING_APPROVAL, Status.APPROVED)
# A lead in one of these states gets nothing more from the sequence.
STOPPED_LEAD_STATUSES = (
    Lead.Status.DO_NOT_CONTACT,
    Lead.Status.REPLIED,
    Lead.Status.INTERESTED,
    Lead.Status.MEETING,
    Lead.Status.WON,
    Lead.Status.LOST,
    Lead.Status.SNOOZED,
    Lead.Status.DISQUALIFIED,
)
POLL_INTERVAL = dt.timedelta(minutes=5)
# A send still `sending` after the task's hard time limit and this margin never finished.
STUCK_AFTER = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + dt.timedelta(minutes=5)


class DecisionError(Exception):
    """A decision that cannot be taken; the text is shown to the person who tried."""


# Drafting ------------------------------------------------------------------------------------


def _account_for(campaign: Campaign, owner) -> SendingAccount | None:
    accounts = campaign.sending_accounts.filter(is_active=True).order_by("pk")
    return accounts.filter(owner=owner).first() or accounts.first()


def message_draft(*, lead_id: int, step: int = 1) -> OutreachMessage | None:
    """Draft the lead's message for a sequence step and put it in front of its rep.

    Idempotent: a second run finds the row (unique per lead, campaign and step) and only
    finishes it if the first run died while generating.
    """
    lead = Lead.objects.select_related("company", "campaign__owner", "owner").get(pk=lead_id)
    campaign = lead.campaign
    if campaign is None or campaign.status != Campaign.Status.ACTIVE or lead.owner is None:
        return None
    if lead.status in STOPPED_LEAD_STATUSES:
        return None
    sequence_step = campaign.steps.filter(order=step).first()
    account = _account_for(campaign, lead.owner)
    if sequence_step is None or account is None:
        return None
    message, created = OutreachMessage.objects.get_or_create(
        lead=lead,
        campaign=campaign,
        step=step,
        defaults={"kind": sequence_step.kind, "account": account, "status": Status.GENERATING},
    )
    if not created and message.status != Status.GENERATING:
        return message
    sender = lead.owner.get_full_name() or lead.owner.email
    draft, call = llm.draft_message(
        lead=lead_facts(lead),
        brief=campaign_brief(campaign=campaign, sender_name=sender),
        kind=sequence_step.kind,
        step=step,
        instruction=sequence_step.instruction,
    )
    findings = check_draft(
        kind=message.kind,
        subject=draft.subject,
        body=draft.body,
        first_name=lead.first_name,
        allowed_links=campaign.brief_links,
    )
    with transaction.atomic():
        if not OutreachMessage.objects.filter(pk=message.pk, status=Status.GENERATING).update(
            subject=draft.subject,
            body=draft.body,
            original_subject=draft.subject,
            original_body=draft.body,
            generated_by=call.model,
            llm_call=call,
            guardrail_findings=findings,
            status=Status.PENDING_APPROVAL,
        ):
            return message
        activity_record(verb="message.drafted", lead=lead, message=message, step=step, generated_by=call.model)
    message.refresh_from_db()
    return message


# The human decision ------------------------------------------------------------------------------


def _explain_refusal(message_id: int, revision: int) -> DecisionError:
    current = OutreachMessage.objects.select_related("decided_by").get(pk=message_id)
    if current.status != Status.PENDING_APPROVAL:
        who = current.decided_by.get_full_name() or current.decided_by.email if current.decided_by else "the system"
        when = timezone.localtime(current.decided_at or current.updated_at).strftime("%d %b %Y %H:%M")
        return DecisionError(f"Already {current.get_status_display().lower()} by {who} at {when}. Nothing was changed.")
    if current.revision != revision:
        return DecisionError("This draft changed since you opened it. Review the new text and decide again.")
    return DecisionError("This draft cannot be decided right now.")


@transaction.atomic
def message_approve(
    *, message: OutreachMessage, actor, revision: int, subject: str | None = None, body: str | None = None
) -> OutreachMessage:
    """Approve a pending draft, with the rep's edits if any; it then waits for its send window."""
    subject = message.subject if subject is None else subject.strip()
    body = message.body if body is None else body.strip()
    if message.lead.status == Lead.Status.DO_NOT_CONTACT:
        raise DecisionError("This lead is marked do-not-contact; the draft cannot be approved.")
    findings = check_draft(
        kind=message.kind,
        subject=subject,
        body=body,
        first_name=message.lead.first_name,
        allowed_links=message.campaign.brief_links,
    )
    if blocking := [f["message"] for f in findings if f["blocking"]]:
        raise DecisionError("Fix this before approving: " + " ".join(blocking))
    edited = (subject, body) != (message.subject, message.body)
    now = timezone.now()
    if not OutreachMessage.objects.filter(pk=message.pk, status=Status.PENDING_APPROVAL, revision=revision).update(
        status=Status.APPROVED,
        subject=subject,
        body=body,
        guardrail_findings=findings,
        decided_by=actor,
        decided_at=now,
        not_before=now,
        revision=F("revision") + int(edited),
    ):
        raise _explain_refusal(message.pk, revision)
    activity_record(verb="message.approved", lead=message.lead, message=message, actor=actor, edited=edited)
    from outreach.tasks import outreach_send_next_task

    outreach_send_next_task.delay_on_commit(message.account_id)
    message.refresh_from_db()
    return message


@transaction.atomic
def message_reject(*, message: OutreachMessage, actor, revision: int, reason: str) -> OutreachMessage:
    reason = reason.strip()
    if not reason:
        raise DecisionError("Say why you reject this draft: the reason teaches the next drafts.")
    if not OutreachMessage.objects.filter(pk=message.pk, status=Status.PENDING_APPROVAL, revision=revision).update(
        status=Status.REJECTED, reject_reason=reason[:300], decided_by=actor, decided_at=timezone.now()
    ):
        raise _explain_refusal(message.pk, revision)
    activity_record(verb="message.rejected", lead=message.lead, message=message, actor=actor, reason=reason)
    message.refresh_from_db()
    return message


def messages_cancel_for_lead(*, lead: Lead, reason: str) -> int:
    """Stop everything not yet sent to this lead (a reply, an opt-out)."""
    cancelled = 0
    for message in OutreachMessage.objects.filter(lead=lead, status__in=OPEN_STATUSES):
        if OutreachMessage.objects.filter(pk=message.pk, status=message.status).update(
            status=Status.CANCELLED, last_error=reason
        ):
            activity_record(verb="message.cancelled", lead=lead, message=message, reason=reason)
            cancelled += 1
    return cancelled


# Sending -------------------------------------------------------------------------------------


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
        if message.lead.status in STOPPED_LEAD_STATUSES:
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


def followups_draft_due(*, now: dt.datetime) -> list[int]:
    """Leads whose last sent step got no reply within the next step's delay get its draft."""
    from outreach.tasks import message_draft_task

    later = OutreachMessage.objects.filter(
        lead=OuterRef("lead"), campaign=OuterRef("campaign"), step__gt=OuterRef("step")
    )
    next_step = SequenceStep.objects.filter(campaign=OuterRef("campaign"), order=OuterRef("step") + 1)
    due = (
        OutreachMessage.objects.filter(
            status=Status.SENT, lead__status=Lead.Status.CONTACTED, campaign__status=Campaign.Status.ACTIVE
        )
        .filter(~Exists(later), Exists(next_step))
        .annotate(delay_days=next_step.values("delay_days")[:1])
    )
    lead_steps = [(m.lead_id, m.step + 1) for m in due if m.sent_at + dt.timedelta(days=m.delay_days) <= now]
    for lead_id, step in lead_steps:
        message_draft_task.delay(lead_id, step)
    return [lead_id for lead_id, _ in lead_steps]


# Replies -------------------------------------------------------------------------------------


def outreach_poll_replies(*, account_id: int, now: dt.datetime | None = None) -> int:
    """Read new replies of one account; the window overlaps the last poll, dedupe makes it safe."""
    now = now or timezone.now()
    account = SendingAccount.objects.get(pk=account_id)
    since = (account.polled_at or now - dt.timedelta(days=1)) - 2 * POLL_INTERVAL
    items = channel_for(account.channel).fetch_messages(account, since=since, now=now)
    created = sum(inbound_record(account=account, item=item) for item in items)
    SendingAccount.objects.filter(pk=account.pk).update(polled_at=now)
    return created


@transaction.atomic
def inbound_record(*, account: SendingAccount, item: InboundItem) -> bool:
    """Store a reply once (unique provider id), stop the lead's sequence, queue its analysis."""
    from outreach.tasks import inbound_analyse_task

    replied_to = (
        OutreachMessage.objects.select_related("lead").filter(idempotency_key=item.in_reply_to_key).first()
        if item.in_reply_to_key
        else None
    )
    lead = replied_to.lead if replied_to else Lead.objects.filter(provider_id=item.sender_provider_id).first()
    if lead is None:
        log.info("reply %s matches no lead; ignored", item.provider_id)
        return False
    inbound, created = InboundMessage.objects.get_or_create(
        provider_id=item.provider_id,
        defaults={
            "lead": lead,
            "account": account,
            "in_reply_to": replied_to,
            "text": item.text,
            "received_at": item.received_at,
        },
    )
    if not created:
        return False
    activity_record(verb="reply.received", lead=lead, message=replied_to, inbound=inbound.pk, text=item.text[:500])
    messages_cancel_for_lead(lead=lead, reason="The lead replied")
    Lead.objects.filter(pk=lead.pk).exclude(status=Lead.Status.DO_NOT_CONTACT).update(status=Lead.Status.REPLIED)
    inbound_analyse_task.delay_on_commit(inbound.pk)
    return True


LEAD_STATUS_FOR_INTENT = {
    "interested": Lead.Status.INTERESTED,
    "requesting_info": Lead.Status.INTERESTED,
    "not_interested": Lead.Status.LOST,
    "not_now": Lead.Status.SNOOZED,
    "out_of_office": Lead.Status.SNOOZED,
}


@transaction.atomic
def inbound_analyse(*, inbound_id: int) -> InboundMessage | None:
    """Understand a stored reply and act on it: opt-out, snooze, interest."""
    # Locked: two copies of the task must not both analyse and act on one reply.
    inbound = InboundMessage.objects.select_for_update(of=("self",)).select_related("lead").get(pk=inbound_id)
    if inbound.intent:
        return None  # already analysed
    analysis, call = llm.analyse_reply(text=inbound.text, today=timezone.localdate())
    inbound.intent = analysis.intent
    inbound.sentiment = analysis.sentiment
    inbound.confidence = analysis.confidence
    inbound.snooze_until = analysis.snooze_until
    inbound.analysis = {**analysis.model_dump(mode="json"), "llm_call": call.pk, "generated_by": call.model}
    inbound.save(update_fields=["intent", "sentiment", "confidence", "snooze_until", "analysis"])
    lead = inbound.lead
    activity_record(verb="reply.analysed", lead=lead, inbound=inbound.pk, intent=analysis.intent)
    if analysis.intent == "unsubscribe":
        lead_set_do_not_contact(lead=lead, actor=None, reason="Asked to be removed in a reply")
    elif status := LEAD_STATUS_FOR_INTENT.get(analysis.intent):
        Lead.objects.filter(pk=lead.pk).exclude(status=Lead.Status.DO_NOT_CONTACT).update(
            status=status, snoozed_until=analysis.snooze_until
        )
        if status == Lead.Status.INTERESTED:
            activity_record(verb="reply.positive", lead=lead, inbound=inbound.pk)
    return inbound
