"""The human decisions on outreach messages: approve, undo, reject (then redraft, rewrite or drop), regenerate,
and a rep's own message.

The queue (approvals.views, and outreach.api) works on outreach.OutreachMessage; every decision
is a conditional UPDATE at the revision the rep saw (one winner; the loser is told why) and
writes an Activity row. A refusal is a DecisionError whose text is shown to the person who tried.
Drafting stays in outreach.services: a decision that asks for a new draft hands it back there.
"""

import datetime as dt

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from leads.lifecycle import TransitionRefused, Trigger, lead_transition
from leads.models import Lead, Task
from leads.services import activity_record
from leads.suppression import is_suppressed
from outreach.guardrails import check_message
from outreach.models import OutreachMessage
from outreach.selectors import accounts_to_write
from outreach.services import LEAD_PRIORITY, WRITTEN_STEP, lead_priority, messages_cancel_for_lead
from salesdept import clock
from salesdept.db import one_to_one
from salesdept.errors import DecisionError
from salesdept.people import display_name
from salesdept.ratelimit import rate_limit_take

Status, Kind = OutreachMessage.Status, OutreachMessage.Kind
REP_WRITTEN = "rep"  # `generated_by` of a rep's own text: no model wrote it


# A decision never moves a message to another lead, campaign, account or reply: those stay as read
# for the card, with the conversation and the extras read alongside them.
KEPT_ON_DECISION = frozenset({"lead", "campaign", "account", "reply_to"})
DECIDED_FIELDS = tuple(f.name for f in OutreachMessage._meta.concrete_fields if f.name not in KEPT_ON_DECISION)


def _reread(message: OutreachMessage) -> OutreachMessage:
    """The message as its decision's UPDATE left it, for the card shown next.

    A bare refresh_from_db drops every relation read with it, and the card then read the lead,
    its company, the campaign and the extras again, one statement each.
    """
    message.refresh_from_db(fields=DECIDED_FIELDS, from_queryset=OutreachMessage.objects.select_related("decided_by"))
    return message


def _explain_refusal(message_id: int, revision: int) -> DecisionError:
    current = OutreachMessage.objects.select_related("decided_by").get(pk=message_id)
    if current.status != Status.PENDING_APPROVAL:
        who = display_name(current.decided_by) or "the system"
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
    if message.blocked:
        raise DecisionError("Regenerate this draft first: " + " ".join(f["message"] for f in message.blocking_findings))
    edited = (subject, body) != (message.subject, message.body)
    # Unedited model text keeps the model's checks; a rep's own edit has matters of style as warnings.
    for_model = not edited and message.generated_by not in ("", "template", REP_WRITTEN)
    findings = check_message(message=message, subject=subject, body=body, for_model=for_model, as_sent=True)
    if blocking := [f["message"] for f in findings if f["blocking"]]:
        raise DecisionError("Fix this before approving: " + " ".join(blocking))
    now = clock.now()
    hold = settings.APPROVAL_HOLD_SECONDS  # the rep's window to undo, before any send may claim it
    if not OutreachMessage.objects.filter(pk=message.pk, status=Status.PENDING_APPROVAL, revision=revision).update(
        status=Status.APPROVED,
        priority=LEAD_PRIORITY,
        subject=subject,
        body=body,
        guardrail_findings=findings,
        decided_by=actor,
        decided_at=now,
        not_before=now + dt.timedelta(seconds=hold),
        revision=F("revision") + int(edited),
    ):
        raise _explain_refusal(message.pk, revision)
    activity_record(verb="message.approved", lead=message.lead, message=message, actor=actor, edited=edited)
    from outreach.tasks import outreach_send_next_task

    account_id = message.account_id
    transaction.on_commit(lambda: outreach_send_next_task.apply_async((account_id,), countdown=hold))
    return _reread(message)


def messages_approve_many(
    *, messages: list[OutreachMessage], revisions: dict[int, int], actor
) -> tuple[list[OutreachMessage], list[tuple[OutreachMessage, str]]]:
    """Approve each draft at the revision the rep saw, each on its own: one refusal stops no other."""
    approved, refused = [], []
    for message in messages:
        try:
            approved.append(message_approve(message=message, actor=actor, revision=revisions[message.pk]))
        except DecisionError as exc:
            refused.append((message, str(exc)))
    return approved, refused


@transaction.atomic
def message_unapprove(*, message: OutreachMessage, actor) -> OutreachMessage:
    """Undo an approval: the draft goes back to the queue, as long as no send has claimed it.

    The send claim moves `approved` to `sending` in one conditional UPDATE, so either the claim
    or the undo wins, never both.
    """
    if not OutreachMessage.objects.filter(pk=message.pk, status=Status.APPROVED).update(
        status=Status.PENDING_APPROVAL,
        decided_by=None,
        decided_at=None,
        not_before=None,
        revision=F("revision") + 1,  # forms rendered while it was approved are stale
    ):
        current = OutreachMessage.objects.get(pk=message.pk)
        if current.status in (Status.SENDING, Status.SENT, Status.UNKNOWN):
            raise DecisionError("Too late to undo: this message has already started sending.")
        raise DecisionError(f"Nothing to undo: this message is {current.get_status_display().lower()}.")
    activity_record(verb="message.approval_undone", lead=message.lead, message=message, actor=actor)
    return _reread(message)


def messages_unapprove_many(
    *, messages: list[OutreachMessage], actor
) -> tuple[list[OutreachMessage], list[tuple[OutreachMessage, str]]]:
    """Undo a bulk approval: each message on its own, so one that started sending keeps no other from coming back."""
    undone, refused = [], []
    for message in messages:
        try:
            undone.append(message_unapprove(message=message, actor=actor))
        except DecisionError as exc:
            refused.append((message, str(exc)))
    return undone, refused


class Then(models.TextChoices):
    """What a rep does after rejecting a draft: a rejected step with nothing after it strands the lead."""

    REDRAFT = "redraft", "Draft again, with my reason as the instruction"
    WRITE = "write", "Write it myself"
    DROP = "drop", "Drop this lead from the campaign"


@transaction.atomic
def message_reject(
    *, message: OutreachMessage, actor, revision: int, reason: str, then: str = "", subject: str = "", body: str = ""
) -> OutreachMessage:
    """Reject a pending draft, then draft again (the default), take the rep's own text, or drop the lead.

    A suggested answer is not redrafted: rejected alone, the reply stays in the inbox for the rep.
    Nor is a nurturing touch: rejected alone, no other is suggested to the person that week.
    """
    reason = reason.strip()
    if not reason:
        raise DecisionError("Say why you reject this draft: the reason teaches the next drafts.")
    from library.nurture import nurture_of

    # A suggested answer, a nurturing touch or a proposal is not redrafted by default: rejected, it is gone.
    then = then or ("" if message.reply_to_id or nurture_of(message) or carries_proposal(message) else Then.REDRAFT)
    if then == Then.REDRAFT and carries_proposal(message):
        raise DecisionError("A proposal's message is not redrafted: reject it alone, then edit the proposal.")
    activity_record(verb="message.rejected", lead=message.lead, message=message, actor=actor, reason=reason, then=then)
    if then == Then.REDRAFT:
        message = message_regenerate(message=message, actor=actor, revision=revision, instruction=reason)
    elif then == Then.WRITE:
        message = _message_rewrite(message=message, actor=actor, revision=revision, subject=subject, body=body)
    else:
        if not OutreachMessage.objects.filter(pk=message.pk, status=Status.PENDING_APPROVAL, revision=revision).update(
            status=Status.REJECTED, reject_reason=reason[:300], decided_by=actor, decided_at=clock.now()
        ):
            raise _explain_refusal(message.pk, revision)
        if then == Then.DROP:
            _lead_drop(lead=message.lead, actor=actor, reason=reason)
        _reread(message)
    return message


def _lead_drop(*, lead: Lead, actor, reason: str) -> None:
    try:
        lead_transition(
            lead=lead, to=Lead.Status.DISQUALIFIED, trigger=Trigger.REP_DROPS, actor=actor, reason=reason, strict=True
        )
    except TransitionRefused as exc:
        raise DecisionError(f"{exc} Reject the draft alone, or close the lead on its page.") from None
    messages_cancel_for_lead(lead=lead, reason="Dropped from the campaign by its rep")


@transaction.atomic
def message_regenerate(*, message: OutreachMessage, actor, revision: int, instruction: str) -> OutreachMessage:
    """Send a pending draft back to the model with the rep's instruction ("shorter", ...)."""
    instruction = instruction.strip()
    if message.task_id:  # a task's draft keeps what the task asked for; the rep's words come on top
        asked = Task.objects.values_list("instruction", flat=True).get(pk=message.task_id)
        instruction = f"{asked}. Also: {instruction}" if instruction else asked
    instruction = instruction[:300]
    if message.reply_to_id:
        raise DecisionError("A suggested answer cannot be regenerated: edit it, or reject it and write your own.")
    if carries_proposal(message):
        raise DecisionError(
            "A proposal's message is not regenerated: edit it here, or reject it and edit the proposal."
        )
    rate_limit_take(user=actor, action="regenerate", error=DecisionError)  # each rewrite is a model call
    if not OutreachMessage.objects.filter(pk=message.pk, status=Status.PENDING_APPROVAL, revision=revision).update(
        # updated_at: when generating began, which the stuck-draft sweeper measures from
        status=Status.GENERATING,
        instruction=instruction,
        revision=F("revision") + 1,
        updated_at=clock.now(),
    ):
        raise _explain_refusal(message.pk, revision)
    activity_record(
        verb="message.regenerating", lead=message.lead, message=message, actor=actor, instruction=instruction
    )
    from outreach.tasks import messages_fill_task

    messages_fill_task.delay_on_commit([message.pk])
    return _reread(message)


def carries_proposal(message: OutreachMessage) -> bool:
    """A proposal's message is not redrafted by a model: the rep edits it, or rejects it and edits the proposal."""
    return one_to_one(message, "proposal") is not None


def _refuse_blocking(findings: list[dict]) -> None:
    if blocking := [f["message"] for f in findings if f["blocking"]]:
        raise DecisionError("Fix this first: " + " ".join(blocking))


def _message_rewrite(*, message: OutreachMessage, actor, revision: int, subject: str, body: str) -> OutreachMessage:
    """The rep's own text replaces the draft; it waits in the queue as theirs."""
    subject, body = subject.strip(), body.strip()
    if not body:
        raise DecisionError("Write your message in the box, or choose another way on.")
    findings = check_message(message=message, subject=subject, body=body, by_rep=True)
    _refuse_blocking(findings)
    if not OutreachMessage.objects.filter(pk=message.pk, status=Status.PENDING_APPROVAL, revision=revision).update(
        subject=subject,
        body=body,
        original_subject=subject,
        original_body=body,
        generated_by=REP_WRITTEN,
        llm_call=None,
        guardrail_findings=findings,
        blocked=False,
        instruction="",
        revision=F("revision") + 1,
    ):
        raise _explain_refusal(message.pk, revision)
    activity_record(verb="message.written", lead=message.lead, message=message, actor=actor)
    return _reread(message)


def _write_refusal(lead: Lead, kind: str) -> str:
    if lead.status == Lead.Status.DO_NOT_CONTACT or is_suppressed(lead):
        return f"{lead} opted out (do-not-contact): nothing may be sent to them."
    if lead.campaign_id is None:
        return f"{lead} is in no campaign: add them to one first."
    if kind == Kind.EMAIL and not (lead.email and lead.email_bounced_at is None):
        return f"{lead} has no working email address: write on LinkedIn."
    if kind != Kind.EMAIL and not lead.linkedin_url:
        return f"{lead} has no LinkedIn profile: write an email."
    return ""


@transaction.atomic
def message_write(*, lead: Lead, actor, kind: str, subject: str = "", body: str) -> OutreachMessage:
    """A rep's own message to a lead: their writing it is the approval, so it waits only for its send.

    The same guardrails as a draft, and the same send: window, caps and the contact budget hold it.
    """
    if refusal := _write_refusal(lead, kind):
        raise DecisionError(refusal)
    accounts = accounts_to_write(actor=actor, kind=kind, campaign=lead.campaign)
    if not accounts:
        raise DecisionError(f"None of your sending accounts can send a {Kind(kind).label.lower()}.")
    subject, body = (subject.strip() if kind in (Kind.EMAIL, Kind.INMAIL) else ""), body.strip()
    now = clock.now()
    hold = settings.APPROVAL_HOLD_SECONDS  # the rep's window to undo, as for any approval
    message = OutreachMessage(
        lead=lead,
        campaign=lead.campaign,
        account=accounts[0],
        step=WRITTEN_STEP,
        kind=kind,
        subject=subject,
        body=body,
        original_subject=subject,
        original_body=body,
        generated_by=REP_WRITTEN,
        status=Status.APPROVED,
        priority=lead_priority(lead),
        decided_by=actor,
        decided_at=now,
        not_before=now + dt.timedelta(seconds=hold),
    )
    message.guardrail_findings = check_message(message=message, subject=subject, body=body, by_rep=True)
    _refuse_blocking(message.guardrail_findings)
    message.save()
    activity_record(verb="message.written", lead=lead, message=message, actor=actor, kind=kind)
    activity_record(verb="message.approved", lead=lead, message=message, actor=actor, edited=False)
    from outreach.tasks import outreach_send_next_task

    transaction.on_commit(lambda: outreach_send_next_task.apply_async((message.account_id,), countdown=hold))
    return message
