"""Writes on outreach messages: drafting, stopping a sequence.

Every status change is a conditional UPDATE (one winner; the loser is told why) and writes
an Activity row. The human decisions (approve, reject, regenerate, a rep's own message) live in
approvals/services.py, sending in outreach/sending.py, replies in outreach/replies.py.
"""

import datetime as dt
import time

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Subquery

from campaigns.briefs import campaign_brief
from campaigns.models import Campaign, SequenceStep
from campaigns.selectors import campaign_request_texts
from leads.intent import leads_activity_read
from leads.lifecycle import ANSWERS_STOPPED, SEQUENCE_STOPPED
from leads.models import RANKED_SCORE, Activity, Enrolment, Lead, Task
from leads.services import activities_record, activity_record, lead_facts
from leads.suppression import is_suppressed
from outreach.guardrails import check_message, not_fact_checked, unsupported_claim
from outreach.models import OutreachMessage, SendingAccount
from outreach.voice import signatures_of, team_voice, voice_for
from salesdept import clock, llm
from salesdept.db import bulk_set
from salesdept.llm.gateway import batch_size, worst_item_seconds
from salesdept.people import display_name
from salesdept.teamconfig import pinned

Status, Kind = OutreachMessage.Status, OutreachMessage.Kind
OPEN_STATUSES = (Status.GENERATING, Status.PENDING_APPROVAL, Status.APPROVED)
WRITTEN_STEP = 0  # a message a rep wrote outside the campaign's sequence
# A message's send priority is its lead's ranked score (a hand-set score wins), copied onto the
# message so the send order is read from one index. It is set in the same UPDATE that makes a
# message approved, and every write of a lead's score calls messages_reprioritise.
LEAD_PRIORITY = Subquery(Lead.objects.filter(pk=OuterRef("lead_id")).values(ranked=RANKED_SCORE)[:1])


def lead_priority(lead: Lead) -> int:
    """LEAD_PRIORITY of a lead in hand, for a message created approved."""
    return -1 if lead.effective_score is None else lead.effective_score


def messages_reprioritise(*, lead_ids) -> int:
    """A lead's score changed: its messages not yet out take the new send priority, in one UPDATE."""
    return OutreachMessage.objects.filter(lead_id__in=lead_ids, status__in=OPEN_STATUSES).update(priority=LEAD_PRIORITY)


# Drafting ------------------------------------------------------------------------------------


def _account_for(campaign: Campaign, owner, kind: str) -> SendingAccount | None:
    """The owner's account on the campaign that can send `kind`, else its first such one (prefetched)."""
    channels = SendingAccount.channels_for(kind)
    accounts = sorted(
        (a for a in campaign.sending_accounts.all() if a.is_active and a.channel in channels), key=lambda a: a.pk
    )
    return next((a for a in accounts if a.owner_id == owner.pk), accounts[0] if accounts else None)


def _enrolment_open(lead: Lead, campaign: Campaign) -> bool:
    """The person's place in this campaign lets its sequence go on (enrolments prefetched).

    Their home campaign runs unless its enrolment was stopped; another needs an active enrolment.
    """
    rows = [e for e in lead.enrolments.all() if e.campaign_id == campaign.pk]
    if lead.campaign_id == campaign.pk:
        return all(e.status == Enrolment.Status.ACTIVE for e in rows)
    return any(e.status == Enrolment.Status.ACTIVE for e in rows)


def _draft_row(lead: Lead, step: int, campaign: Campaign | None = None) -> OutreachMessage | None:
    """The lead's row to draft for this step of `campaign` (its home one by default), unsaved, or
    None when there is nothing to draft."""
    campaign = campaign or lead.campaign
    if campaign is None or campaign.status != Campaign.Status.ACTIVE or lead.owner is None:
        return None
    if lead.status in SEQUENCE_STOPPED or not _enrolment_open(lead, campaign):
        return None
    sequence_step = next((s for s in campaign.steps.all() if s.order == step), None)
    if sequence_step is None:
        return None
    account = _account_for(campaign, lead.owner, sequence_step.kind)
    if account is None:
        return None
    return OutreachMessage(
        lead=lead,
        campaign=campaign,
        step=step,
        kind=sequence_step.kind,
        account=account,
        status=Status.GENERATING,
        instruction=sequence_step.instruction,
    )


def _campaigns_shared(*related: str) -> Prefetch:
    """A batch's campaigns, one object each for all its rows (`related` joined): a batch is mostly one
    campaign, whose brief's JSON fields a join decoded again for every row (800 times for 800 drafts)."""
    return Prefetch("campaign", queryset=Campaign.objects.select_related("owner", *related))


def _claim_draft_rows(rows: list[OutreachMessage], step: int) -> list[int]:
    """The rows' ids in `generating`: made now, or left there by an earlier run that died.

    Idempotent: a step's row is unique per lead, campaign and step (`message_step_unique`), so a
    repeated task inserts nothing and finds the rows it made, or finds them sent on and skips them.
    """
    if not rows:
        return []
    OutreachMessage.objects.bulk_create(rows, ignore_conflicts=True)
    wanted = {(row.lead_id, row.campaign_id) for row in rows}
    generating = OutreachMessage.objects.filter(
        lead_id__in={lead_id for lead_id, _ in wanted},
        step=step,
        reply_to=None,  # a suggested answer shares the step number but is not the step's message
        rerouted_from=None,  # nor does a message redrafted for another channel
        task=None,  # nor a rep's task's message
        status=Status.GENERATING,
    ).values_list("pk", "lead_id", "campaign_id")
    return [pk for pk, lead_id, campaign_id in generating if (lead_id, campaign_id) in wanted]


@pinned()  # one read of the team's settings for the batch (see messages_fill)
def messages_draft(
    *, lead_ids: list[int], step: int = 1, campaign_id: int | None = None, start_by: float | None = None
) -> list[OutreachMessage]:
    """Draft each lead's message for a sequence step and put it in front of its rep.

    The step is of `campaign_id`'s sequence when given (people enrolled there from another
    campaign), else of each lead's home campaign. The model calls of the whole batch run side
    by side (each draft, then its fact check); `start_by`: see messages_fill.
    """
    leads = (
        Lead.objects.select_related("company", "owner")
        .prefetch_related(_campaigns_shared(), "campaign__steps", "campaign__sending_accounts", "enrolments")
        .filter(pk__in=lead_ids)
        .order_by("pk")
    )
    campaign = None
    if campaign_id is not None:
        campaign = (
            Campaign.objects.select_related("owner").prefetch_related("steps", "sending_accounts").get(pk=campaign_id)
        )
    # Lazily, what the person did on LinkedIn this week (within the account's profile views): the score and its
    # reasons beside the draft are current when the rep reads it.
    leads_activity_read(lead_ids=[lead.pk for lead in leads], now=clock.now())
    rows = [message for lead in leads if (message := _draft_row(lead, step, campaign))]
    return messages_fill(message_ids=_claim_draft_rows(rows, step), start_by=start_by)


def _draft_job(message: OutreachMessage, examples: list[dict], voice: llm.Voice) -> llm.DraftJob:
    lead, campaign = message.lead, message.campaign
    sender = display_name(lead.owner)
    return llm.DraftJob(
        lead=lead_facts(lead),
        brief=campaign_brief(campaign=campaign, sender_name=sender, label=lead.label),
        kind=message.kind,
        step=message.step,
        limit=message.body_limit,
        instruction=message.instruction,
        examples=examples,
        lead_id=lead.pk,
        campaign_id=campaign.pk,
        fresh=message.revision > 1,
        voice=voice,
    )


@pinned()  # one read of the team's settings for the batch (the guardrails read the key for every draft)
def messages_fill(*, message_ids: list[int], start_by: float | None = None) -> list[OutreachMessage]:
    """Write the drafts of messages in `generating`, check them, and queue them for approval: each
    wave of drafts as it ends, while the model writes the next (a rep sees the first after one wave).

    A nurturing touch (library.nurture) is written by its own prompt and checks. `start_by` (a
    `time.monotonic()` reading, see drafting_start_by): the drafts whose model calls had not
    started by then go to a task of their own, once this one's writes are committed.
    """
    from library.nurture import nurture_of, nurtures_fill

    messages = list(
        OutreachMessage.objects.select_related("lead__company", "lead__owner", "nurture")
        .prefetch_related(_campaigns_shared("target"), "account")  # a few of each, shared by the batch
        .filter(pk__in=message_ids, status=Status.GENERATING)
        .order_by("pk")
    )
    nurtured = [m.pk for m in messages if nurture_of(m) is not None]
    if nurtured:
        others = [m.pk for m in messages if m.pk not in nurtured]
        rest = messages_fill(message_ids=others, start_by=start_by) if others else []
        return nurtures_fill(message_ids=nurtured) + rest
    examples = {
        campaign_id: edit_examples(campaign_id=campaign_id) for campaign_id in {m.campaign_id for m in messages}
    }
    requests = campaign_request_texts(campaign_ids=examples)
    team, signatures = team_voice(), signatures_of({message.lead.owner_id for message in messages})
    voices = [
        voice_for(campaign=message.campaign, rep=message.lead.owner, team=team, signatures=signatures)
        for message in messages
    ]
    pairs = zip(messages, voices, strict=True)
    jobs = [_draft_job(message, examples[message.campaign_id], voice) for message, voice in pairs]
    recorded, later = [], []
    for wave in llm.draft_and_check_by_wave(jobs, start_by=start_by):  # each wave queued while the next is written
        drafted = []
        for i, answer in wave:
            if answer is None:
                later.append(messages[i].pk)
            else:
                drafted.append((messages[i], answer[0], _draft_findings(messages[i], voices[i], requests, *answer)))
        recorded += drafts_record(drafted) if drafted else []
    if later:
        from outreach.tasks import messages_fill_task

        # Handed on, not stuck: the sweeper counts its time from now (drafts_release_stuck).
        OutreachMessage.objects.filter(pk__in=later, status=Status.GENERATING).update(updated_at=clock.now())
        messages_fill_task.delay_on_commit(later)
    return sorted(recorded, key=lambda message: message.pk)


def _draft_findings(
    message: OutreachMessage,
    voice: llm.Voice,
    requests: dict[int, list[str]],
    result: "llm.Result[llm.Draft]",
    check: "llm.Result[llm.FactCheck] | None",
) -> list[dict]:
    """What the guardrails and the fact check found in a draft; a blocking finding keeps it out of the queue."""
    findings = check_message(
        message=message,
        subject=result.value.subject,
        body=result.value.body,
        for_model=not result.from_template,
        voice=voice,
        requests=requests[message.campaign_id],
    )
    if not result.from_template:
        # A model draft is fact-checked, or held: a check that failed proves nothing.
        findings += fact_check_findings(check)
    if result.from_template and message.instruction:
        findings.append(
            {
                "code": "instruction_ignored",
                "blocking": False,
                "message": f"The offline template cannot follow the instruction {message.instruction!r}.",
            }
        )
    if result.call.error:
        findings.append({"code": "llm_fallback", "message": result.call.error, "blocking": False})
    return findings


def fact_check_findings(check: "llm.Result[llm.FactCheck] | None") -> list[dict]:
    """A model's text either passed its fact check, or it is blocked: never waved through unchecked."""
    if check is None or check.from_template:
        return [not_fact_checked(check.call.error if check is not None and check.call.error else "it did not run")]
    return [unsupported_claim(claim) for claim in check.value.unsupported_claims]


DRAFTED_FIELDS = [
    "subject", "body", "original_subject", "original_body", "generated_by", "llm_call", "guardrail_findings",
    "blocked", "status",
]  # fmt: skip


@transaction.atomic
def drafts_record(drafted: list[tuple[OutreachMessage, "llm.Result[llm.Draft]", list[dict]]]) -> list[OutreachMessage]:
    """Put a batch's drafts with their findings in front of their reps; returns the messages recorded.

    A message that left `generating` meanwhile (the sweeper gave it back, a reply cancelled it)
    is left as it is. A few statements for the batch: its rows locked, updated by one statement,
    their timeline entries and counts in bulk (leads.services.activities_record).
    """
    ids = [message.pk for message, _, _ in drafted]
    waiting = OutreachMessage.objects.select_for_update().filter(pk__in=ids, status=Status.GENERATING)
    still = set(waiting.order_by("pk").values_list("pk", flat=True))  # locked in id order: no deadlock
    recorded = []
    for message, result, findings in drafted:
        if message.pk not in still:
            continue
        draft = result.value
        message.subject = message.original_subject = draft.subject
        message.body = message.original_body = draft.body
        message.generated_by, message.llm_call = result.generated_by, result.call
        message.guardrail_findings = findings
        message.blocked = any(finding["blocking"] for finding in findings)
        message.status = Status.PENDING_APPROVAL
        recorded.append(message)
    bulk_set(recorded, DRAFTED_FIELDS)
    activities_record(
        [
            Activity(
                verb="message.drafted",
                lead=message.lead,
                message=message,
                payload={"step": message.step, "generated_by": message.generated_by, "blocked": message.blocked},
            )
            for message in recorded
        ]
    )
    return recorded


# A drafting task starts model calls for DRAFT_START_SECONDS, then hands the drafts it has not
# started to a task of their own: a chain started last, its draft and fact check each timing out
# twice, still ends inside the task's soft time limit, with a minute to read and write around it.
# A batch holds DRAFT_ROUNDS waves of the server's concurrency: a slot freed by one draft takes
# the next at once, where a batch of one wave waited for its slowest draft before the next batch.
DRAFT_ROUNDS = 4
DRAFT_START_SECONDS = 120
DRAFT_SOFT_TIME_LIMIT = DRAFT_START_SECONDS + worst_item_seconds(calls_per_item=2) + 60
DRAFT_TIME_LIMIT = DRAFT_SOFT_TIME_LIMIT + 60


def drafting_start_by() -> float:
    """The time (`time.monotonic()`) after which a drafting task starts no more model calls."""
    return time.monotonic() + DRAFT_START_SECONDS


# A drafting task is killed at DRAFT_TIME_LIMIT; a draft still `generating` a minute later has no
# worker left writing it.
DRAFT_STUCK_AFTER = dt.timedelta(seconds=DRAFT_TIME_LIMIT + 60)
LOST_REWRITE = "The rewrite did not finish (its worker stopped): this is the previous text. Regenerate or decide."
LOST_DRAFT = "The draft was not written (its worker stopped): regenerate it."


def drafts_release_stuck(*, now: dt.datetime) -> int:
    """Give drafts whose worker died while `generating` back to their rep; returns how many.

    Left alone they stay `generating` for ever: out of the queue, with no button. A rewrite goes
    back to the queue with its previous text; a first draft, with no text, goes under *Needs
    rewriting* where the rep regenerates it.
    """
    stuck = OutreachMessage.objects.filter(status=Status.GENERATING, updated_at__lt=now - DRAFT_STUCK_AFTER)
    released = 0
    for message in stuck.select_related("lead").order_by("pk")[:500]:
        released += _draft_release(message=message, now=now)
    return released


@transaction.atomic
def _draft_release(*, message: OutreachMessage, now: dt.datetime) -> bool:
    has_text = bool(message.body.strip())
    finding = {"code": "draft_lost", "blocking": not has_text, "message": LOST_REWRITE if has_text else LOST_DRAFT}
    findings = [f for f in message.guardrail_findings if f.get("code") != "draft_lost"] + [finding]
    still_stuck = OutreachMessage.objects.filter(pk=message.pk, status=Status.GENERATING, updated_at=message.updated_at)
    if not still_stuck.update(
        status=Status.PENDING_APPROVAL,
        guardrail_findings=findings,
        blocked=message.blocked or not has_text,
        updated_at=now,
    ):
        return False  # the draft arrived meanwhile, or another sweeper got it
    activity_record(verb="message.draft_lost", lead=message.lead, message=message, had_text=has_text)
    return True


def edit_examples(*, campaign_id: int, limit: int = 3) -> list[dict]:
    """The campaign's latest drafts a rep changed before approving: what the next drafts learn from."""
    edited = (
        OutreachMessage.objects.filter(campaign_id=campaign_id, decided_at__isnull=False, reply_to__isnull=True)
        .filter(status__in=(Status.APPROVED, Status.SENDING, Status.SENT))
        .exclude(body=F("original_body"))
        .order_by("-decided_at")
        .values("original_body", "body")[:limit]
    )
    return [{"draft": row["original_body"], "approved": row["body"]} for row in edited]


def messages_cancel_for_lead(*, lead: Lead, reason: str, kind: str | None = None) -> int:
    """Stop everything not yet sent to this lead (a reply, an opt-out), or only what goes by `kind`."""
    cancelled = 0
    open_messages = OutreachMessage.objects.filter(lead=lead, status__in=OPEN_STATUSES)
    for message in open_messages.filter(kind=kind) if kind else open_messages:
        if OutreachMessage.objects.filter(pk=message.pk, status=message.status).update(
            status=Status.CANCELLED, last_error=reason
        ):
            activity_record(verb="message.cancelled", lead=lead, message=message, reason=reason)
            cancelled += 1
    return cancelled


def followups_draft_due(*, now: dt.datetime) -> list[int]:
    """Leads whose last sent step got no reply within the next step's delay get its draft."""
    later = OutreachMessage.objects.filter(
        lead=OuterRef("lead"),
        campaign=OuterRef("campaign"),
        step__gt=OuterRef("step"),
        reply_to__isnull=True,
        task__isnull=True,
    )
    # Once we answered the prospect, it is a conversation: the sequence's follow-ups stop.
    answered = OutreachMessage.objects.filter(lead=OuterRef("lead"), reply_to__isnull=False)
    next_step = SequenceStep.objects.filter(campaign=OuterRef("campaign"), order=OuterRef("step") + 1)
    due = (
        OutreachMessage.objects.filter(
            status=Status.SENT,
            reply_to__isnull=True,
            step__gt=WRITTEN_STEP,  # a rep's own message is not a step of the sequence
            task__isnull=True,  # nor is a rep's task's message
            lead__status=Lead.Status.CONTACTED,
            campaign__status=Campaign.Status.ACTIVE,
        )
        .filter(~Exists(later), ~Exists(answered), Exists(next_step))
        .annotate(
            delay_days=next_step.values("delay_days")[:1],
            next_kind=next_step.values("kind")[:1],
            home_id=F("lead__campaign_id"),
        )
    )
    # Each campaign's sequence runs per enrolment: a step of a campaign that is not the lead's
    # home one is drafted from that campaign's steps (None: the home campaign, as ever).
    by_step: dict[tuple[int | None, int], list[int]] = {}
    for message in due:
        start = message.sent_at
        if message.kind == Kind.CONNECTION_NOTE and message.next_kind == Kind.MESSAGE:
            # A LinkedIn message reaches only a connection: the delay counts from the acceptance.
            if message.accepted_at is None:
                continue
            start = message.accepted_at
        if start + dt.timedelta(days=message.delay_days) <= now:
            campaign_id = None if message.campaign_id == message.home_id else message.campaign_id
            by_step.setdefault((campaign_id, message.step + 1), []).append(message.lead_id)
    for (campaign_id, step), lead_ids in by_step.items():
        messages_draft_enqueue(lead_ids=lead_ids, step=step, campaign_id=campaign_id)
    return [lead_id for lead_ids in by_step.values() for lead_id in lead_ids]


def draft_batch_size() -> int:
    """Leads per drafting task: DRAFT_ROUNDS waves of the drafts the server takes at once."""
    return batch_size(calls_per_item=2, rounds=DRAFT_ROUNDS)


def messages_draft_enqueue(*, lead_ids: list[int], step: int = 1, campaign_id: int | None = None) -> None:
    """Draft these leads in background batches, once the current transaction commits.

    `campaign_id`: the campaign whose step it is, when not the leads' home campaign.
    """
    from outreach.tasks import messages_draft_task

    size = draft_batch_size()
    extra = () if campaign_id is None else (campaign_id,)
    for start in range(0, len(lead_ids), size):
        messages_draft_task.delay_on_commit(lead_ids[start : start + size], step, *extra)


# A rep's tasks, when due -----------------------------------------------------------------------

TASK_BATCH = 200


def tasks_draft_due(*, now: dt.datetime) -> list[int]:
    """Open tasks whose day has begun on their rep's calendar get a draft in the approval queue.

    Each task is claimed once (a conditional update on `drafted_at`), so sweepers running at
    the same time never make two drafts of it; the drafts are written in the background and
    go through the same guardrails as every draft. Returns the ids of the messages created.
    """
    due = Task.objects.filter(status=Task.Status.OPEN, drafted_at__isnull=True, due_at__lte=now)
    created = [
        m.pk
        for pk in due.order_by("due_at", "pk").values_list("pk", flat=True)[:TASK_BATCH]
        if (m := _task_draft_claim(task_id=pk, now=now))
    ]
    if created:
        from outreach.tasks import messages_fill_task

        size = draft_batch_size()
        for start in range(0, len(created), size):
            messages_fill_task.delay_on_commit(created[start : start + size])
    return created


@transaction.atomic
def _task_draft_claim(*, task_id: int, now: dt.datetime) -> OutreachMessage | None:
    """The task's message row in `generating`, or None: claimed by another worker, or nothing can be drafted."""
    if not Task.objects.filter(pk=task_id, status=Task.Status.OPEN, drafted_at__isnull=True).update(drafted_at=now):
        return None
    task = Task.objects.select_related("lead__campaign", "owner").get(pk=task_id)
    lead, campaign = task.lead, task.lead.campaign
    kind, step, note = _task_channel(task)
    account = _account_for(campaign, task.owner, kind) if not note else None
    if not note and account is None:
        note = f"No active sending account on the campaign can send a {Kind(kind).label.lower()}."
    if note:
        Task.objects.filter(pk=task.pk).update(draft_note=note[:300])
        activity_record(verb="task.not_drafted", lead=lead, task=task.pk, text=task.text, reason=note)
        return None
    message = OutreachMessage.objects.create(
        lead=lead,
        campaign=campaign,
        account=account,
        step=step,
        kind=kind,
        status=Status.GENERATING,
        instruction=task.instruction,
        task=task,
    )
    activity_record(verb="task.drafted", lead=lead, message=message, task=task.pk, text=task.text)
    return message


def _task_channel(task: Task) -> tuple[str, int, str]:
    """How a task's message goes: the way the conversation last went, else the sequence's first step.

    (kind, step, why nothing can be drafted); the step is the last one sent, for the timeline.
    """
    lead, campaign = task.lead, task.lead.campaign
    if campaign is None:
        return "", 0, "The lead is in no campaign: there is no brief to write from."
    if campaign.status != Campaign.Status.ACTIVE:
        return "", 0, f"The campaign is {campaign.get_status_display().lower()}: nothing is drafted for it."
    if lead.status in ANSWERS_STOPPED or is_suppressed(lead):
        return "", 0, f"{lead} is not to be contacted."
    last = (
        OutreachMessage.objects.filter(lead=lead, campaign=campaign, status=Status.SENT, reply_to__isnull=True)
        .order_by("-sent_at", "-pk")
        .first()
    )
    if last is None:
        first = campaign.steps.order_by("order").first()
        return (first.kind if first else Kind.MESSAGE), 1, ""
    if last.kind == Kind.CONNECTION_NOTE:
        if last.accepted_at is None:
            return "", 0, "The LinkedIn invitation is not accepted yet: no message can reach them there."
        return Kind.MESSAGE, last.step, ""
    return last.kind, last.step, ""
