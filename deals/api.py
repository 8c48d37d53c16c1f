"""/api/v1/deals: the board's deals by filter and keyset page, a deal with its history, open, move, update."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from deals.forms import DealFieldsForm, DealMoveForm
from deals.selectors import deal_get_for_user, deal_history, deal_list_for, deal_page
from deals.services import DealError, deal_move, deal_open, deal_update
from leads.selectors import lead_get_for_user
from salesdept.api import ApiError, In, answers, checked

router = Router()
HISTORY_LENGTH = 100  # the latest entries; the deal page shows the same
ID = {"ge": 1, "le": 2**31 - 1}


class DealOut(Schema):
    id: int
    lead_id: int
    lead_name: str = Field(..., alias="lead.full_name")
    company: str | None = Field(None, alias="lead.company.name")
    campaign_id: int | None
    owner_id: int | None
    stage_id: int
    stage: str = Field(..., alias="stage.name")
    outcome: str = Field(..., alias="stage.outcome")
    value: Decimal
    currency: str
    expected_close: dt.date | None
    next_step: str
    lost_reason: str
    opened_at: dt.datetime
    stage_changed_at: dt.datetime
    closed_at: dt.datetime | None


class HistoryOut(Schema):
    verb: str
    at: dt.datetime = Field(..., alias="created_at")
    actor_id: int | None
    payload: dict[str, Any]


class DealDetailOut(DealOut):
    history: list[HistoryOut]


class DealPage(Schema):
    items: list[DealOut]
    next_cursor: str | None = Field(None, description="Pass as `after` for the next page; null on the last one.")


class DealFilters(Schema):
    stage: int | None = Field(None, **ID)
    owner: int | None = Field(None, **ID, description="A manager's narrowing; a rep sees their own.")
    campaign: int | None = Field(None, **ID)
    open: bool | None = Field(None, description="true: open deals only; false: closed ones only.")
    after: str = Field("", max_length=500, description="The `next_cursor` of the page before.")
    size: int = Field(50, ge=1, le=200)


@router.get("", response=answers(s200=DealPage), url_name="deals", summary="List deals")
def deals_list(request: HttpRequest, filters: Query[DealFilters]):
    """The user's deals (a rep's own, a manager's all), newest opened first, a page at a time by cursor."""
    deals = deal_list_for(
        request.user, stage=filters.stage, owner=filters.owner, campaign_id=filters.campaign, is_open=filters.open
    )
    page = deal_page(deals, after=filters.after, size=filters.size)
    return {"items": page.rows, "next_cursor": page.next_cursor}


def _detail(request: HttpRequest, pk: int):
    deal = deal_get_for_user(request.user, pk)
    deal.history = list(deal_history(deal)[:HISTORY_LENGTH])
    return deal


@router.get("/{int:pk}", response=answers(s200=DealDetailOut), url_name="deal", summary="Read a deal")
def deal_read(request: HttpRequest, pk: int):
    return _detail(request, pk)


class DealFieldsIn(In):
    value: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    currency: str | None = Field(None, max_length=10, description="ISO 4217, e.g. EUR.")
    expected_close: dt.date | None = None
    next_step: str | None = Field(None, max_length=300)


class DealOpenIn(DealFieldsIn):
    lead: int = Field(..., **ID, description="The lead the deal is with: in conversation, without an open deal.")


def _fields(payload: DealFieldsIn, *, base: dict) -> dict:
    """The payload's fields over `base`, checked by the page's own form."""
    sent = payload.dict(exclude_unset=True, exclude={"lead"})
    data = {name: "" if value is None else str(value) for name, value in (base | sent).items()}
    return checked(DealFieldsForm(data))


@router.post("", response=answers(s201=DealDetailOut), url_name="deal_open", summary="Open a deal")
def deal_open_api(request: HttpRequest, payload: DealOpenIn):
    """As the lead page's "Open a deal": at the first stage, the lead's meeting booked. 409 when refused."""
    from django.conf import settings

    lead = lead_get_for_user(request.user, payload.lead)
    fields = _fields(payload, base={"currency": settings.DEALS_DEFAULT_CURRENCY})
    try:
        deal = deal_open(lead=lead, actor=request.user, **fields)
    except DealError as exc:
        raise ApiError(409, "deal_open_refused", str(exc)) from None
    return Status(201, _detail(request, deal.pk))


class DealMoveIn(In):
    stage: int = Field(..., **ID, description="The stage to move to (an active one).")
    reason: str = Field("", max_length=300, description="Required for a lost stage: counted in the report.")
    from_stage: int | None = Field(
        None, **ID, description="The stage you saw the deal at: the move is refused if it has left it."
    )


@router.post("/{int:pk}/move", response=answers(s200=DealDetailOut), url_name="deal_move", summary="Move a deal")
def deal_move_api(request: HttpRequest, pk: int, payload: DealMoveIn):
    """To another stage; a won or lost stage closes the deal and the lead. A refused move is a 409."""
    deal = deal_get_for_user(request.user, pk)
    data = checked(DealMoveForm({"stage": payload.stage, "reason": payload.reason, "seen": payload.from_stage or ""}))
    if data["seen"] is not None and data["seen"].pk != deal.stage_id:
        deal.stage = data["seen"]  # the conditional update refuses a move from a stage the deal has left
    try:
        deal_move(deal=deal, stage=data["stage"], actor=request.user, reason=data["reason"])
    except DealError as exc:
        raise ApiError(409, "deal_move_refused", str(exc)) from None
    return _detail(request, pk)


@router.patch("/{int:pk}", response=answers(s200=DealDetailOut), url_name="deal_update", summary="Update a deal")
def deal_update_api(request: HttpRequest, pk: int, payload: DealFieldsIn):
    """Value, currency, expected close, next step: the fields not sent stay as they are."""
    deal = deal_get_for_user(request.user, pk)
    base = {name: getattr(deal, name) for name in ("value", "currency", "expected_close", "next_step")}
    fields = _fields(payload, base=base)
    deal_update(deal=deal, actor=request.user, **fields)
    return _detail(request, pk)
