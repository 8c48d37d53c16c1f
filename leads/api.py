"""/api/v1/leads: the lead list's filters and keyset pages, a lead with its timeline, the rep's edits."""

import datetime as dt
from typing import Any, Literal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from leads.csvread import ImportFileError
from leads.forms import DoNotContactForm, ImportMappingForm, ImportUploadForm, RelabelForm, ScoreOverrideForm
from leads.imports import csv_import_create, csv_import_start, import_progress
from leads.models import ImportJob, Lead
from leads.selectors import import_get_for_user, lead_get_for_user, lead_list_for, lead_page, lead_timeline
from leads.services import lead_override_score, lead_relabel, lead_set_do_not_contact
from salesdept.api import ApiError, In, answers, checked, one_of

router = Router()
TIMELINE_LENGTH = 100  # the latest events; the page shows the same


class LeadOut(Schema):
    id: int
    first_name: str
    last_name: str
    position: str
    company: str | None = Field(None, alias="company.name")
    email: str | None
    linkedin_url: str | None
    status: str
    label: str
    score: int | None
    score_override: int | None
    insight: str
    needs_review: bool
    owner_id: int | None
    campaign_id: int | None
    created_at: dt.datetime


class EventOut(Schema):
    verb: str
    at: dt.datetime = Field(..., alias="created_at")
    actor_id: int | None
    message_id: int | None
    payload: dict[str, Any]


class LeadDetailOut(LeadOut):
    timeline: list[EventOut]


class LeadPage(Schema):
    items: list[LeadOut]
    next_cursor: str | None = Field(None, description="Pass as `after` for the next page; null on the last one.")


class LeadFilters(Schema):
    search: str = Field("", max_length=200)
    status: one_of(Lead.Status.values) = ""
    campaign: int | None = Field(None, ge=1, le=2**31 - 1)
    label: str = Field("", max_length=50)
    owner: int | None = Field(None, ge=1, le=2**31 - 1, description="A manager's narrowing; a rep sees their own.")
    min_score: int | None = Field(None, ge=0, le=100)
    max_score: int | None = Field(None, ge=0, le=100)
    needs_review: bool = False
    sort: Literal["newest", "score"] = "newest"
    after: str = Field("", max_length=500, description="The `next_cursor` of the page before.")
    size: int = Field(50, ge=1, le=200)


@router.get("", response=answers(s200=LeadPage), url_name="leads", summary="List leads")
def leads_list(request: HttpRequest, filters: Query[LeadFilters]):
    """The lead list page's filters, newest (or best scored) first, a page at a time by cursor (never OFFSET)."""
    leads = lead_list_for(
        request.user,
        search=filters.search,
        status=filters.status,
        campaign_id=filters.campaign,
        label=filters.label,
        owner=filters.owner,
        min_score=filters.min_score,
        max_score=filters.max_score,
        needs_review=filters.needs_review,
    )
    page = lead_page(leads, sort=filters.sort, after=filters.after, size=filters.size)
    return {"items": page.rows, "next_cursor": page.next_cursor}


@router.get("/{int:pk}", response=answers(s200=LeadDetailOut), url_name="lead", summary="Read a lead")
def lead_read(request: HttpRequest, pk: int):
    lead = lead_get_for_user(request.user, pk)
    lead.timeline = list(lead_timeline(lead)[:TIMELINE_LENGTH])
    return lead


class LeadUpdateIn(In):
    label: str | None = Field(None, max_length=50, description="One of the lead's campaign's labels.")
    score: int | None = Field(
        None, ge=0, le=100, description="The rep's own score; `clear_score` returns to the rule's."
    )
    clear_score: bool = False
    score_reason: str = Field("", max_length=200, description="Why the score is set by hand (required with `score`).")


@router.patch("/{int:pk}", response=answers(s200=LeadOut), summary="Update a lead")
def lead_update(request: HttpRequest, pk: int, payload: LeadUpdateIn):
    """The fields a rep may set on the lead's page: its label and a hand-set score. All checked before any is saved."""
    lead = lead_get_for_user(request.user, pk)
    label = score = None
    if payload.label is not None:
        label = checked(RelabelForm({"label": payload.label}, lead=lead))["label"]
    if payload.score is not None or payload.clear_score:
        score = checked(
            ScoreOverrideForm({"score": "" if payload.clear_score else payload.score, "reason": payload.score_reason})
        )
    if label is not None:
        lead_relabel(lead=lead, actor=request.user, label=label)
    if score is not None:
        lead_override_score(lead=lead, actor=request.user, score=score["score"], reason=score["reason"])
    return lead_get_for_user(request.user, pk)


class DoNotContactIn(In):
    reason: str = Field(..., max_length=200, description="Why: kept on the timeline.")


class DoNotContactOut(Schema):
    lead: LeadOut
    changed: bool = Field(..., description="False when the lead was already do-not-contact.")


@router.post(
    "/{int:pk}/do-not-contact", response=answers(s200=DoNotContactOut), url_name="lead_do_not_contact",
    summary="Mark a lead do-not-contact",
)  # fmt: skip
def lead_do_not_contact(request: HttpRequest, pk: int, payload: DoNotContactIn):
    """Absolute, as on the page: the lead's pending and approved messages are cancelled with it."""
    lead = lead_get_for_user(request.user, pk)
    reason = checked(DoNotContactForm({"reason": payload.reason}))["reason"]
    changed = lead_set_do_not_contact(lead=lead, actor=request.user, reason=reason)
    return {"lead": lead_get_for_user(request.user, pk), "changed": changed}


# Imports: people in bulk, through the CSV import's own checks, dedupe and suppression.


class ImportIn(In):
    file_name: str = Field("api.csv", min_length=1, max_length=255)
    csv: str = Field(..., description="The file's text: a header row, then one person a row (any delimiter).")
    campaign: int | None = Field(None, ge=1, le=2**31 - 1, description="An active or draft campaign they join.")


class ImportOut(Schema):
    id: int
    status: str
    file_name: str
    campaign_id: int | None
    headers: list[str]
    mapping: dict[str, str] = Field(..., description="Lead field -> the file's column; guessed at upload.")
    progress: dict[str, Any]


class StartIn(In):
    mapping: dict[str, str] | None = Field(None, description="Lead field -> column; absent keeps the guessed one.")


def _import_out(job: ImportJob) -> dict:
    return {**{f: getattr(job, f) for f in ("id", "status", "file_name", "campaign_id", "headers", "mapping")},
            "progress": import_progress(job)}  # fmt: skip


@router.post("/imports", response=answers(s201=ImportOut), url_name="imports", summary="Upload people in bulk")
def import_create(request: HttpRequest, payload: ImportIn):
    """The import page's first step: the file is checked and its columns guessed. Start it next."""
    upload = SimpleUploadedFile(payload.file_name, payload.csv.encode(), content_type="text/csv")
    form = ImportUploadForm({"campaign": payload.campaign or ""}, {"file": upload})
    data = checked(form)
    try:
        job = csv_import_create(
            user=request.user, file_name=payload.file_name, data=payload.csv.encode(), campaign=data["campaign"]
        )
    except ImportFileError as exc:
        if getattr(exc, "retry_after", None):  # the person's import limit, counted as on the page
            raise ApiError(429, "rate_limited", str(exc)) from None
        problem = [{"field": "csv", "message": str(exc)}]
        raise ApiError(400, "invalid", f"{exc} Nothing was stored.", errors=problem) from None
    return Status(201, _import_out(job))


@router.get("/imports/{int:pk}", response=answers(s200=ImportOut), url_name="import", summary="An import's progress")
def import_read(request: HttpRequest, pk: int):
    return _import_out(import_get_for_user(request.user, pk))


@router.post(
    "/imports/{int:pk}/start", response=answers(s200=ImportOut), url_name="import_start", summary="Start an import"
)
def import_start(request: HttpRequest, pk: int, payload: StartIn):
    """Queue the import with the guessed mapping or yours; each row is checked, deduplicated and stored."""
    job = import_get_for_user(request.user, pk)
    if job.status != ImportJob.Status.UPLOADED:
        raise ApiError(409, "conflict", f"This import has already started: it is {job.get_status_display().lower()}.")
    form = ImportMappingForm(
        payload.mapping if payload.mapping is not None else job.mapping, headers=job.headers, examples={}
    )
    checked(form)
    if not csv_import_start(job=job, mapping=form.mapping()):
        raise ApiError(409, "conflict", "This import has already started.")
    return _import_out(import_get_for_user(request.user, pk))
