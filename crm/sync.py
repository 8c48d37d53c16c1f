"""One sync run of one CRM connection: erasures, then the CRM's stage changes in, then ours out.

Incremental by watermark: a run sends what changed since the start of the last run that finished
(leads' and deals' `updated_at`, new sent messages and replies), with an overlap; `full` sends
everything. Each record goes through the adapter alone and its SyncRecord says how it went: a
refused record is marked with its error and the others go on. An unchanged record (same hash as
last sent) costs no call, so a run that resumes after a rate limit or a crash re-sends nothing
it had confirmed, and the CRM-side upsert keys find what was sent but not yet confirmed.

A deal stage changed on both sides since the last sync: **the newer change wins** (our deal's
`stage_changed_at` against HubSpot's `hs_lastmodifieddate`), and the run's notes say which.
Only a change made there since our last send counts as theirs, so our own sends coming back
never move a deal.

Errors: RateLimited → the run waits (status "waiting", the claim kept) and the Celery task
retries after Retry-After; AuthRefused → the run stops, the connection is marked and managers
are told; any other CRM error stops the run (the next one resumes). One run per connection at
a time: a conditional UPDATE on the connection claims it.
"""

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from crm.adapters import adapter_for
from crm.base import (
    AuthRefused,
    CompanyRecord,
    ContactRecord,
    CRMAdapter,
    CRMError,
    DealRecord,
    NoteRecord,
    RateLimited,
    RecordRefused,
    RemoteDeal,
)
from crm.models import CRMConnection, FieldMapping, SyncRecord, SyncRun
from deals.models import Deal, DealStage
from deals.services import DealError, deal_move
from leads.models import Activity, Lead
from outreach.models import InboundMessage
from salesdept import clock

logger = logging.getLogger(__name__)

S = Lead.Status
# People we have not written to yet stay out of the CRM: it holds conversations, not prospects.
NOT_SYNCED = (S.NEW, S.QUALIFIED, S.DISQUALIFIED)
NOTE_VERBS = ("message.sent", "reply.received")
OVERLAP = dt.timedelta(minutes=5)  # a change committed while the last run read is sent again (hash-skipped)
GONE = (SyncRecord.State.ERASING, SyncRecord.State.ERASED)


def _hash(*parts) -> str:
    text = json.dumps([dataclasses.asdict(p) if dataclasses.is_dataclass(p) else p for p in parts], default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class _Run:
    """One run's state: the adapter, the mapping, the records already read, the counts."""

    def __init__(self, connection: CRMConnection, run: SyncRun, adapter: CRMAdapter) -> None:
        self.connection, self.run, self.adapter = connection, run, adapter
        mappings = list(connection.mappings.all())
        self.fields = {m.ours: m.theirs for m in mappings if m.kind == FieldMapping.Kind.CONTACT and m.theirs}
        self.stages = {int(m.ours): m.theirs for m in mappings if m.kind == FieldMapping.Kind.STAGE and m.theirs}
        self.records = {(r.kind, r.local_id): r for r in connection.records.all()}
        self.tried: set[tuple[str, int]] = set()  # sent (or refused) in this run: never twice

    def record(self, kind: str, local_id: int, lead_id: int | None) -> SyncRecord:
        record = self.records.get((kind, local_id))
        if record is None:
            record, _ = SyncRecord.objects.get_or_create(
                connection=self.connection, kind=kind, local_id=local_id, defaults={"lead_id": lead_id}
            )
            self.records[(kind, local_id)] = record
        return record

    def gone(self, lead_id: int) -> bool:
        record = self.records.get((SyncRecord.Kind.CONTACT, lead_id))
        return record is not None and record.state in GONE

    def push(self, record: SyncRecord, digest: str, send: Callable[[], str]) -> str | None:
        """Send one record unless it is unchanged; its SyncRecord says how it went. The CRM's id, or None."""
        if record.state in GONE:
            return None
        if (record.kind, record.local_id) in self.tried:
            return record.remote_id if record.state == SyncRecord.State.OK else None
        self.tried.add((record.kind, record.local_id))
        if record.state == SyncRecord.State.OK and record.synced_hash == digest and record.remote_id:
            self.run.skipped += 1
            return record.remote_id
        if record.state != SyncRecord.State.PENDING:
            record.state = SyncRecord.State.PENDING  # sent, not confirmed: what a killed run leaves
            record.save(update_fields=["state"])
        try:
            remote_id = send()
        except RecordRefused as refused:
            record.state, record.last_error = SyncRecord.State.ERROR, str(refused)[:500]
            record.save(update_fields=["state", "last_error"])
            self.run.failed += 1
            return None
        if record.remote_id:
            self.run.updated += 1
        else:
            self.run.created += 1
        record.remote_id, record.synced_hash, record.state = remote_id, digest, SyncRecord.State.OK
        record.last_error, record.synced_at = "", clock.now()
        record.save(update_fields=["remote_id", "synced_hash", "state", "last_error", "synced_at"])
        return remote_id


def sync_run(
    connection: CRMConnection, *, full: bool = False, run_id: int | None = None, trigger: str = "schedule"
) -> SyncRun | None:
    """Run (or, with `run_id`, resume) a sync of `connection`; None when another run holds it."""
    now = clock.now()
    if run_id is None:
        run = SyncRun.objects.create(connection=connection, full=full, trigger=trigger, started_at=now)
    else:
        run = SyncRun.objects.get(pk=run_id, connection=connection)
    if not _claim(connection, run, now):
        if run_id is None:
            run.delete()  # never ran: the log shows runs, not knocks on a busy door
        return None
    # A run still "running" or "waiting" lost its worker or its retry: this one took its place.
    SyncRun.objects.filter(connection=connection, status__in=[SyncRun.Status.RUNNING, SyncRun.Status.WAITING]).exclude(
        pk=run.pk
    ).update(status=SyncRun.Status.FAILED, finished_at=now, error="Stopped: its worker or its retry was lost.")
    if run.status != SyncRun.Status.RUNNING:
        run.status = SyncRun.Status.RUNNING
        run.save(update_fields=["status"])
    try:
        adapter = adapter_for(connection)
        state = _Run(connection, run, adapter)
        _erasures(state)
        _pull(state)
        _push_all(state, since=None if run.full or not connection.synced_through else connection.synced_through)
    except RateLimited as limited:
        run.status, run.rate_limit_waits = SyncRun.Status.WAITING, run.rate_limit_waits + 1
        run.waited_seconds += limited.retry_after
        run.error = str(limited)[:500]
        _save_counts(run, "status", "rate_limit_waits", "waited_seconds", "error")
        limited.run_id = run.pk
        raise  # the claim stays with this run: the task retries it after Retry-After
    except AuthRefused as refused:
        _auth_refused(connection, run, refused)
    except CRMError as error:
        _finish(connection, run, SyncRun.Status.FAILED, str(error))
    except BaseException as crash:  # an interrupt or a time limit frees the connection too
        _finish(connection, run, SyncRun.Status.FAILED, f"Stopped by an unexpected error ({type(crash).__name__})")
        raise
    else:
        _finish(connection, run, SyncRun.Status.DONE, "")
    return run


def sync_give_up(*, run_id: int, reason: str) -> None:
    """The task stops retrying a rate-limited run: it ends failed and frees the connection."""
    run = SyncRun.objects.select_related("connection").get(pk=run_id)
    _finish(run.connection, run, SyncRun.Status.FAILED, reason)


def _claim(connection: CRMConnection, run: SyncRun, now: dt.datetime) -> bool:
    stale = now - dt.timedelta(minutes=settings.CRM_SYNC_STALE_MINUTES)
    free = Q(claimed_by_run__isnull=True) | Q(claimed_at__lt=stale) | Q(claimed_by_run=run.pk)
    return bool(
        CRMConnection.objects.filter(free, pk=connection.pk, is_active=True).update(
            claimed_by_run=run.pk, claimed_at=now
        )
    )


def _save_counts(run: SyncRun, *fields: str) -> None:
    counts = ["created", "updated", "failed", "skipped", "pulled", "notes"]
    run.save(update_fields=[*counts, *fields])


def _finish(connection: CRMConnection, run: SyncRun, status: str, error: str) -> None:
    now = clock.now()
    run.status, run.finished_at, run.error = status, now, error[:500]
    _save_counts(run, "status", "finished_at", "error")
    released = {"claimed_by_run": None, "claimed_at": None}
    if status == SyncRun.Status.DONE:
        released |= {"synced_through": run.started_at, "pulled_through": run.started_at}
        if run.full:
            released["last_full_sync_at"] = now
    CRMConnection.objects.filter(pk=connection.pk, claimed_by_run=run.pk).update(**released)


def _auth_refused(connection: CRMConnection, run: SyncRun, refused: AuthRefused) -> None:
    from salesdept.notifications import notify
    from salesdept.roles import managers

    _finish(connection, run, SyncRun.Status.FAILED, f"Credentials refused: {refused}")
    CRMConnection.objects.filter(pk=connection.pk).update(
        health=CRMConnection.Health.AUTH_REFUSED, health_reason=str(refused)[:300]
    )
    url = reverse("crm:connection", args=[connection.kind])
    for manager in managers():
        notify(user=manager, text=f"{connection} refused our credentials: the CRM sync stopped. Reconnect it.", url=url)


def _erasures(state: _Run) -> None:
    from crm.services import crm_erase_pending

    crm_erase_pending(connection=state.connection)  # what could not be reached stays waiting, with its error


# In: stage changes made in the CRM.


def _pull(state: _Run) -> None:
    connection = state.connection
    since = (connection.pulled_through or connection.created_at) - OVERLAP
    theirs = {stage_id: pk for pk, stage_id in reversed(list(state.stages.items()))}  # first of ours wins
    for remote in state.adapter.changed_deals(since=since):
        if remote.local_id is None:
            continue  # a deal made in the CRM, not one of ours
        _pull_one(state, remote, theirs)


def _pull_one(state: _Run, remote: RemoteDeal, theirs: dict[str, int]) -> None:
    deal = Deal.objects.select_related("stage", "lead").filter(pk=remote.local_id).first()
    record = state.records.get((SyncRecord.Kind.DEAL, remote.local_id))
    if deal is None or record is None or record.state in GONE:
        return
    if state.stages.get(deal.stage_id) == remote.stage:
        return  # the same place on both sides
    last_sent = record.synced_at or deal.opened_at
    if remote.modified_at <= last_sent:
        return  # not changed there since we sent: ours goes out below
    if deal.stage_changed_at > last_sent and deal.stage_changed_at >= remote.modified_at:
        state.run.notes.append(
            f"Deal {deal.pk}: moved on both sides; ours ({deal.stage}) is newer and was kept over the CRM's"
            f" {remote.stage}."
        )
        return
    stage_pk = theirs.get(remote.stage)
    stage = DealStage.objects.filter(pk=stage_pk).first() if stage_pk else None
    if stage is None:
        state.run.notes.append(f"Deal {deal.pk}: the CRM's stage {remote.stage!r} maps to none of ours.")
        return
    both = deal.stage_changed_at > last_sent
    reason = f"Marked lost in {state.connection}" if stage.outcome == DealStage.Outcome.LOST else ""
    try:
        deal_move(deal=deal, stage=stage, actor=None, reason=reason)
    except DealError as refused:
        state.run.notes.append(f"Deal {deal.pk}: the CRM's move to {stage} was not applied: {refused}")
        return
    state.run.pulled += 1
    if both:
        state.run.notes.append(f"Deal {deal.pk}: moved on both sides; the CRM's move to {stage} is newer and won.")


# Out: our leads, companies, deals, sent messages and replies.


def _push_all(state: _Run, *, since: dt.datetime | None) -> None:
    leads = Lead.objects.exclude(status__in=NOT_SYNCED).select_related("company")
    if since is not None:
        leads = leads.filter(updated_at__gte=since - OVERLAP)
    for lead in leads.order_by("pk").iterator(chunk_size=200):
        _push_lead(state, lead)
    deals = Deal.objects.select_related("lead__company", "stage")
    if since is not None:
        deals = deals.filter(Q(updated_at__gte=since - OVERLAP) | Q(pk__in=_waiting(state, SyncRecord.Kind.DEAL)))
    for deal in deals.order_by("pk").iterator(chunk_size=200):
        _push_deal(state, deal)
    notes = Activity.objects.filter(verb__in=NOTE_VERBS, lead__isnull=False).select_related(
        "lead__company", "message", "actor"
    )
    if since is not None:
        notes = notes.filter(Q(created_at__gte=since - OVERLAP) | Q(pk__in=_waiting(state, SyncRecord.Kind.NOTE)))
    for activity in notes.order_by("pk").iterator(chunk_size=200):
        _push_note(state, activity)


def _waiting(state: _Run, kind: str) -> list[int]:
    """Records left unsent (their person was refused, or a run stopped): tried again each run until sent."""
    return [r.local_id for r in state.records.values() if r.kind == kind and r.state == SyncRecord.State.PENDING]


def _company_id(state: _Run, lead: Lead) -> str | None:
    company = lead.company
    if company is None:
        return None
    record = state.record(SyncRecord.Kind.COMPANY, company.pk, None)
    sent = CompanyRecord(local_id=company.pk, name=company.name, domain=company.domain, industry=company.industry)
    return state.push(record, _hash(sent), lambda: state.adapter.upsert_company(sent))


def _push_lead(state: _Run, lead: Lead) -> str | None:
    """The person (and their company): the CRM's contact id, or None when refused or erased."""
    if state.gone(lead.pk) or lead.status in NOT_SYNCED:
        return None
    company_id = _company_id(state, lead)
    values = {"first_name": lead.first_name, "last_name": lead.last_name, "email": lead.email or ""}
    values |= {"position": lead.position, "headline": lead.headline, "location": lead.location}
    values |= {"linkedin_url": lead.linkedin_url or "", "status": lead.status}
    contact = ContactRecord(
        local_id=lead.pk, first_name=lead.first_name, last_name=lead.last_name, email=lead.email or "",
        title=lead.position, linkedin_url=lead.linkedin_url or "", status=lead.status,
        extra={prop: str(values[ours]) for ours, prop in state.fields.items() if ours in values},
    )  # fmt: skip
    record = state.record(SyncRecord.Kind.CONTACT, lead.pk, lead.pk)
    return state.push(
        record, _hash(contact, company_id), lambda: state.adapter.upsert_contact(contact, company_id=company_id)
    )


def _contact_id(state: _Run, lead: Lead) -> str | None:
    record = state.records.get((SyncRecord.Kind.CONTACT, lead.pk))
    if record is not None and record.state == SyncRecord.State.OK:
        return record.remote_id
    return _push_lead(state, lead)


def _push_deal(state: _Run, deal: Deal) -> str | None:
    if state.gone(deal.lead_id):
        return None
    stage = state.stages.get(deal.stage_id)
    record = state.record(SyncRecord.Kind.DEAL, deal.pk, deal.lead_id)
    if not stage:
        if record.state != SyncRecord.State.ERROR or not record.last_error.startswith("Not sent"):
            record.state, record.last_error = SyncRecord.State.ERROR, f"Not sent: stage “{deal.stage}” is not mapped"
            record.save(update_fields=["state", "last_error"])
            state.run.failed += 1
        return None
    contact_id = _contact_id(state, deal.lead)
    if not contact_id:
        return None
    company = state.records.get((SyncRecord.Kind.COMPANY, deal.lead.company_id)) if deal.lead.company_id else None
    company_id = company.remote_id if company is not None and company.state == SyncRecord.State.OK else None
    sent = DealRecord(
        local_id=deal.pk, name=f"{deal.lead.full_name} ({deal.lead.company or 'no company'})", stage=stage,
        amount=deal.value, currency=deal.currency, close_date=deal.expected_close, next_step=deal.next_step,
        lost_reason=deal.lost_reason,
    )  # fmt: skip
    return state.push(
        record,
        _hash(sent, contact_id, company_id),
        lambda: state.adapter.upsert_deal(sent, contact_id=contact_id, company_id=company_id),
    )


def _push_note(state: _Run, activity: Activity) -> None:
    lead = activity.lead
    if state.gone(lead.pk):
        return
    record = state.record(SyncRecord.Kind.NOTE, activity.pk, lead.pk)
    if record.state == SyncRecord.State.OK:
        state.run.skipped += 1  # a note never changes: sent once
        return
    contact_id = _contact_id(state, lead)
    if not contact_id:
        return
    deal = state.records.get((SyncRecord.Kind.DEAL, _open_deal_id(lead)))
    deal_id = deal.remote_id if deal is not None and deal.state == SyncRecord.State.OK else None
    note = NoteRecord(local_id=activity.pk, body=_note_body(activity), at=activity.created_at)
    state.push(record, _hash(note), lambda: state.adapter.add_note(note, contact_id=contact_id, deal_id=deal_id))


def _open_deal_id(lead: Lead) -> int | None:
    return Deal.objects.filter(lead=lead).order_by("closed_at", "-opened_at").values_list("pk", flat=True).first()


def _note_body(activity: Activity) -> str:
    if activity.verb == "reply.received":
        # The timeline keeps the first 500 characters; the reply itself has all of it.
        inbound = InboundMessage.objects.filter(pk=activity.payload.get("inbound") or 0, lead=activity.lead_id)
        text = inbound.values_list("text", flat=True).first() or activity.payload.get("text", "")
        return f"Reply from {activity.lead.full_name}:\n\n{text}"
    message = activity.message
    if message is None:
        return "Message sent (its text is no longer kept)."
    by = activity.actor.get_full_name() if activity.actor else "the team"
    subject = f"{message.subject}\n\n" if message.subject else ""
    return f"Sent by {by} ({message.get_kind_display()}):\n\n{subject}{message.body}"
