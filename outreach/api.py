"""/api/v1/messages and /api/v1/replies: the approval queue and its decisions, and the inbox.

Approve and reject call the services the queue's buttons call: the same conditional UPDATE on
(status, revision) decides, so an API call and a click racing for one draft have one winner.
"""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from approvals.forms import ApproveForm, RejectForm
from approvals.selectors import Cursor, cursor_of, message_get_for_user, queue_page_for
from approvals.services import message_approve, message_reject
from outreach.models import InboundMessage, OutreachMessage
from outreach.selectors import inbox_for
from salesdept.api import ApiError, In, answers, checked, one_of
from salesdept.errors import DecisionError
from salesdept.keyset import Keyset, keyset_page

router = Router()
ID = Field(None, ge=1, le=2**31 - 1)


class MessageOut(Schema):
    id: int
    lead_id: int
    campaign_id: int
    kind: str
    step: int
    status: str
    subject: str
    body: str
    revision: int = Field(..., description="Send it back with a decision: a draft changed since is not decided.")
    blocked: bool
    guardrail_findings: list[dict[str, Any]]
    generated_by: str
    decided_by_id: int | None
    decided_at: dt.datetime | None
    reject_reason: str
    reply_to_id: int | None
    created_at: dt.datetime


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None


class QueueFilters(Schema):
    campaign: int | None = ID
    rep: int | None = Field(None, ge=1, le=2**31 - 1, description="A manager's narrowing; a rep sees their own.")
    label: str = Field("", max_length=50)
    kind: one_of(OutreachMessage.Kind.values) = ""
    sort: Literal["score", "oldest", "newest"] = "score"
    after: str = Field("", max_length=40, description="The `next_cursor` of the page before.")
    size: int = Field(50, ge=1, le=200)


@router.get("/messages", response=answers(s200=MessagePage), url_name="messages", summary="List the approval queue")
def messages_list(request: HttpRequest, filters: Query[QueueFilters]):
    """The drafts waiting for the user's decision, in the queue's order, a page at a time by cursor."""
    wanted = {"campaign": filters.campaign, "rep": filters.rep, "label": filters.label, "kind": filters.kind}
    rows, more = queue_page_for(
        request.user,
        size=filters.size,
        filters={name: value for name, value in wanted.items() if value},
        sort=filters.sort,
        after=Cursor.parse(filters.after),
    )
    return {"items": rows, "next_cursor": str(cursor_of(rows[-1])) if more else None}


@router.get("/messages/{int:pk}", response=answers(s200=MessageOut), url_name="message", summary="Read a message")
def message_read(request: HttpRequest, pk: int):
    return message_get_for_user(request.user, pk)


class ApproveIn(In):
    revision: int = Field(
        ..., ge=1, le=2**31 - 1, description="The `revision` you read: a draft changed since is refused (409)."
    )
    subject: str | None = Field(None, max_length=200, description="Your edit; absent keeps the draft's.")
    body: str | None = Field(None, max_length=10000, description="Your edit; absent keeps the draft's.")


def _decided(act, message: OutreachMessage) -> OutreachMessage:
    try:
        return act()
    except DecisionError as exc:
        raise ApiError(409, "conflict", str(exc)) from None


@router.post(
    "/messages/{int:pk}/approve", response=answers(s200=MessageOut), url_name="message_approve",
    summary="Approve a draft",
)  # fmt: skip
def message_approve_api(request: HttpRequest, pk: int, payload: ApproveIn):
    message = message_get_for_user(request.user, pk)
    given = payload.dict(exclude_none=True)
    data = checked(ApproveForm({"subject": "", "body": "", **given}))

    def act() -> OutreachMessage:
        return message_approve(
            message=message,
            actor=request.user,
            revision=data["revision"],
            subject=data["subject"] if "subject" in given else None,
            body=data["body"] if "body" in given else None,
        )

    return _decided(act, message)


class RejectIn(In):
    revision: int = Field(..., ge=1, le=2**31 - 1)
    reason: str = Field(..., max_length=300, description="Why: it teaches the next drafts.")
    then: Literal["redraft", "write", "drop", ""] = Field(
        "",
        description="Draft again with the reason (the default), your own text (`subject`, `text`), or drop the lead.",
    )
    subject: str = Field("", max_length=200)
    text: str = Field("", max_length=10000)


@router.post(
    "/messages/{int:pk}/reject", response=answers(s200=MessageOut), url_name="message_reject",
    summary="Reject a draft with a reason",
)  # fmt: skip
def message_reject_api(request: HttpRequest, pk: int, payload: RejectIn):
    message = message_get_for_user(request.user, pk)
    data = checked(RejectForm(payload.dict()))

    def act() -> OutreachMessage:
        return message_reject(
            message=message,
            actor=request.user,
            revision=data["revision"],
            reason=data["reason"],
            then=data["then"],
            subject=data["subject"],
            body=data["text"],
        )

    return _decided(act, message)


class ReplyOut(Schema):
    id: int
    lead_id: int
    in_reply_to_id: int | None
    text: str
    received_at: dt.datetime
    sentiment: str
    intent: str
    confidence: float | None
    needs_look: bool
    snooze_until: dt.date | None


class ReplyPage(Schema):
    items: list[ReplyOut]
    next_cursor: str | None


class ReplyFilters(Schema):
    intent: one_of(InboundMessage.Intent.values) = ""
    rep: int | None = Field(None, ge=1, le=2**31 - 1, description="A manager's narrowing; a rep sees their own.")
    needs_look: bool = False
    after: str = Field("", max_length=500)
    size: int = Field(50, ge=1, le=200)


def _aware(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a cursor time must carry its zone")
    return moment


REPLIES_NEWEST = Keyset(name="received", field="received_at", dump=dt.datetime.isoformat, load=_aware)


@router.get("/replies", response=answers(s200=ReplyPage), url_name="replies", summary="List replies")
def replies_list(request: HttpRequest, filters: Query[ReplyFilters]):
    """The inbox: replies newest first, with what was read from them, a page at a time by cursor."""
    replies = inbox_for(request.user, intent=filters.intent, rep_id=filters.rep, needs_look=filters.needs_look)
    page = keyset_page(replies, keyset=REPLIES_NEWEST, after=filters.after, size=filters.size, salt="api.replies")
    return {"items": page.rows, "next_cursor": page.next_cursor}
