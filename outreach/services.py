"""Writes on outreach messages: drafting, the human decision, stopping a sequence.

Every status change is a conditional UPDATE (one winner; the loser is told why) and writes
an Activity row. Sending lives in outreach/sending.py, replies in outreach/replies.py.
"""

import datetime as dt

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from campaigns.models import Campaign, SequenceStep
from campaigns.services import campaign_brief
from leads.models import Lead
from leads.services import activity_record, lead_facts
from outreach.guardrails import check_draft
from outreach.models import OutreachMessage, SendingAccount
from salesdept import llm

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
