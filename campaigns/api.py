"""/api/v1/campaigns: what the campaign pages show a manager, and their pause and resume buttons."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status

from campaigns.models import Campaign
from campaigns.selectors import campaign_get, campaign_list, campaign_search_runs
from campaigns.services import CampaignStateError, campaign_create, campaign_set_status, campaign_start_pipeline
from salesdept.api import ApiError, In, answers, manager_only

router = Router()


class CampaignOut(Schema):
    id: int
    name: str
    status: str
    owner_id: int
    min_score: int
    daily_lead_quota: int
    lead_sources: list[str]
    created_at: dt.datetime


class CampaignListOut(CampaignOut):
    lead_count: int
    unallocated_count: int


@router.get("", response=answers(s200=list[CampaignListOut]), url_name="campaigns", summary="List campaigns")
def campaigns_list(request: HttpRequest):
    """Every campaign, newest first, with its lead counts. A manager's, as on the campaigns page.

    Not paged: a team runs tens of campaigns, not thousands.
    """
    manager_only(request)
    return campaign_list()


@router.get("/{int:pk}", response=answers(s200=CampaignOut), url_name="campaign", summary="Read a campaign")
def campaign_read(request: HttpRequest, pk: int):
    manager_only(request)
    return campaign_get(pk)


class TargetIn(In):
    titles: list[str] = []
    seniorities: list[str] = []
    industries: list[str] = []
    locations: list[str] = []
    company_sizes: list[str] = []
    keywords: list[str] = []
    exclusions: list[str] = []
    linkedin_api: str = ""
    linkedin_search_url: str = ""


class LabelIn(In):
    name: str
    description: str = ""
    angle: str = ""


class FaqIn(In):
    question: str
    answer: str


class StepIn(In):
    kind: str
    delay_days: int = 0
    instruction: str = ""


class CampaignIn(In):
    """What the campaign form asks, as JSON; the same service decides what is allowed."""

    name: str
    target: TargetIn = TargetIn()
    labels: list[LabelIn] = []
    min_score: int = 40
    daily_lead_quota: int = 25
    lead_sources: list[str] = []
    offer: str = ""
    event: str = ""
    value_points: list[str] = []
    proof: str = ""
    call_to_action: str = ""
    faq: list[FaqIn] = []
    tone: str = ""
    brief_links: list[str] = []
    internal_notes: str = ""
    brand_voice: str = ""
    banned_phrases: list[str] = []
    steps: list[StepIn]
    account_ids: list[int] = []


@router.post("", response=answers(s201=CampaignOut), url_name="campaign_create", summary="Create a campaign")
def campaign_create_api(request: HttpRequest, body: CampaignIn):
    """A draft campaign, as the "New campaign" form makes one; start it with resume."""
    manager_only(request)
    try:
        campaign = campaign_create(actor=request.user, **body.model_dump())
    except ValidationError as exc:
        errors = [
            {"field": field, "message": message}
            for field, messages in (exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}).items()
            for message in messages
        ]
        summary = " ".join(error["message"] for error in errors)
        raise ApiError(400, "invalid", f"{summary} Nothing was stored.", errors=errors) from None
    return Status(201, campaign)


def _moved(request: HttpRequest, pk: int, status: str) -> Campaign:
    manager_only(request)
    try:
        return campaign_set_status(campaign=campaign_get(pk), status=status, actor=request.user)
    except CampaignStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from None


@router.post("/{int:pk}/pause", response=answers(s200=CampaignOut), url_name="campaign_pause", summary="Pause")
def campaign_pause(request: HttpRequest, pk: int):
    """Stop finding, drafting and sending for this campaign until it is resumed."""
    return _moved(request, pk, Campaign.Status.PAUSED)


@router.post("/{int:pk}/resume", response=answers(s200=CampaignOut), url_name="campaign_resume", summary="Resume")
def campaign_resume(request: HttpRequest, pk: int):
    """Start a paused (or draft) campaign."""
    return _moved(request, pk, Campaign.Status.ACTIVE)


class SearchRunOut(Schema):
    id: int
    source: str
    status: str
    wanted: int
    pages: int
    found: int
    stored: int
    enrolled: int
    duplicates: int
    error: str
    notes: list[Any]
    started_at: dt.datetime
    finished_at: dt.datetime | None


class SearchStartedOut(Schema):
    message: str


@router.post(
    "/{int:pk}/search", response=answers(s202=SearchStartedOut), url_name="campaign_search",
    summary="Look for leads now",
)  # fmt: skip
def campaign_search(request: HttpRequest, pk: int):
    """The campaign page's "Find leads": find, qualify, allocate, draft, in the background. Follow it in search-runs."""
    manager_only(request)
    try:
        campaign_start_pipeline(campaign=campaign_get(pk), actor=request.user)
    except CampaignStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return Status(202, {"message": "Looking for leads: new drafts will appear in the approval queue."})


@router.get(
    "/{int:pk}/search-runs", response=answers(s200=list[SearchRunOut]), url_name="campaign_search_runs",
    summary="Recent searches and their progress",
)  # fmt: skip
def campaign_search_runs_api(request: HttpRequest, pk: int):
    """The campaign's latest searches, newest first, with their counts as they run."""
    manager_only(request)
    return campaign_search_runs(campaign=campaign_get(pk))
