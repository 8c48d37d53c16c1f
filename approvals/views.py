import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from approvals.forms import (
    ApproveForm,
    BulkApproveForm,
    BulkUndoForm,
    QueueFilterForm,
    RegenerateForm,
    RejectForm,
    SnoozeForm,
)
from approvals.selectors import (
    Cursor,
    approved_waiting_for,
    blocked_cards_for,
    bulk_undoable,
    cursor_of,
    message_get_for_user,
    messages_for_bulk,
    pending_count_for,
    queue_count_for,
    queue_page_for,
    with_card_extras,
)
from approvals.services import (
    DecisionError,
    Then,
    message_approve,
    message_regenerate,
    message_reject,
    message_unapprove,
    messages_approve_many,
    messages_unapprove_many,
)
from leads.models import Lead
from leads.services import lead_snooze
from outreach.models import OutreachMessage
from salesdept import clock
from salesdept.roles import is_manager, rep_required
from salesdept.views_helpers import form_errors_text

QUEUE = "approvals/queue.html"
LAST_BULK = "approvals.last_bulk"  # session: the ids of the user's last bulk approval
PAGE_SIZE = 25  # the best first; the next page loads at the end of this one


@require_GET
@rep_required
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET, manager=is_manager(request.user))
    filters, sort = form.filters(), form.chosen_sort()
    after = Cursor.parse(request.GET.get("after"))
    items, more = queue_page_for(request.user, size=PAGE_SIZE, filters=filters, sort=sort, after=after)
    items = with_card_extras(items)
    query = _filter_query(request)
    context = {
        "items": items,
        "next_query": f"{query}&after={cursor_of(items[-1])}".lstrip("&") if more else "",
    }
    if after is not None and request.htmx:
        return render(request, f"{QUEUE}#queue-page", context)
    total = queue_count_for(request.user, filters=filters) if more or after else len(items)
    context |= {
        "form": form,
        "filtered": bool(filters),
        "filter_query": query,
        "total": total,
        "blocked": [] if after else blocked_cards_for(request.user, limit=PAGE_SIZE),
        "approved": [] if after else list(approved_waiting_for(request.user)[:10]),
        "bulk_undo": [] if after else bulk_undoable(request.user, request.session.get(LAST_BULK) or []),
    }
    if not filters:
        context["pending_count"] = total  # the navigation badge: no second count
    context["badge_follows_total"] = True  # and after a decision the badge comes with the total (queue_total)
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        return render(request, f"{QUEUE}#queue-region", context)
    return render(request, QUEUE, context)


def _filter_query(request: HttpRequest) -> str:
    """The queue's filters and sort as a query string, without the page's cursor."""
    query = request.GET.copy()
    query.pop("after", None)
    return query.urlencode()


@require_GET
@rep_required
def pending_count(request: HttpRequest) -> HttpResponse:
    context = {"pending_count": pending_count_for(request.user), "badge_follows_total": "follows" in request.GET}
    return render(request, f"{QUEUE}#pending-count", context)


@require_GET
@rep_required
def queue_total(request: HttpRequest) -> HttpResponse:
    """The queue's "N drafts waiting" for the filters in the URL: it refreshes after every decision.

    The navigation's badge comes with it (out of band): without filters it is the same number.
    """
    filters = QueueFilterForm(request.GET, manager=is_manager(request.user)).filters()
    total = queue_count_for(request.user, filters=filters)
    context = {
        "total": total,
        "filtered": bool(filters),
        "filter_query": _filter_query(request),
        "pending_count": pending_count_for(request.user) if filters else total,
        "badge_follows_total": True,
        "oob": True,
    }
    return render(request, f"{QUEUE}#queue-total", context)


@require_GET
@rep_required
def item(request: HttpRequest, pk: int) -> HttpResponse:
    """One queue item as it is now: a fragment for htmx (a rewrite polls it), else a page of its own."""
    message = message_get_for_user(request.user, pk)
    context = {"item": message}
    if not request.htmx:
        return render(request, "approvals/item.html", context)
    response = render(request, f"{QUEUE}#item", context)
    if message.status != OutreachMessage.Status.GENERATING:  # a rewrite came back: it waits again
        trigger_client_event(response, "queueChanged")
    return response


def _decided(
    request: HttpRequest,
    message,
    *,
    notice: str = "",
    error: str = "",
    body: str | None = None,
    gone: bool = False,
    written: dict | None = None,
) -> HttpResponse:
    """The item after a decision: htmx swaps it in place; a plain form goes back to the queue.

    A refused text of the rep's own (`written`) comes back with the reasons, never lost.
    """
    context = {
        "item": message,
        "notice": notice,
        "error": error,
        "body": body,
        "gone": gone,
        "written": written,
    }
    if request.htmx:
        return trigger_client_event(render(request, f"{QUEUE}#item", context), "queueChanged")
    if error and written:
        return render(request, "approvals/item.html", context)
    (messages.error if error else messages.success)(request, error or notice)
    return redirect("approvals:queue")


STALE_FORM = "This form is incomplete or out of date; reload the queue."


def _written(data) -> dict | None:
    """The rep's own text from a refused reject-and-write, to show again with the reasons."""
    if data.get("then") != Then.WRITE:
        return None
    return {"subject": data.get("subject", ""), "text": data.get("text", "").replace("\r\n", "\n")}


def _decide(request: HttpRequest, pk: int, form_class, act: Callable, notice: Callable[[object], str]) -> HttpResponse:
    """One decision on a queue item: access check, form, the service, then the item as it now is."""
    message = message_get_for_user(request.user, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        errors = form.errors.get("reason") or form.errors.get("days") or [STALE_FORM]
        return _decided(request, message, error=errors[0], written=_written(request.POST))
    try:
        message = act(message, form.cleaned_data)
    except DecisionError as exc:
        message.refresh_from_db()
        body = form.cleaned_data.get("body") or None
        return _decided(request, message, error=str(exc), body=body, written=_written(request.POST))
    return _decided(request, message, notice=notice(message))


@require_POST
@rep_required
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    def act(message, data):
        return message_approve(
            message=message,
            actor=request.user,
            revision=data["revision"],
            subject=data["subject"] if "subject" in request.POST else None,  # absent: keep the draft's
            body=data["body"] if "body" in request.POST else None,
        )

    return _decide(
        request, pk, ApproveForm, act, lambda m: f"Approved: the message to {m.lead} will go out in its sending window."
    )


@require_POST
@rep_required
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    def act(message, data):
        return message_reject(
            message=message,
            actor=request.user,
            revision=data["revision"],
            reason=data["reason"],
            then=data["then"],
            subject=data["subject"],
            body=data["text"],
        )

    return _decide(request, pk, RejectForm, act, _rejected_notice)


def _rejected_notice(message) -> str:
    if message.status == OutreachMessage.Status.GENERATING:
        return f"Rejected: drafting again to {message.lead} with your reason; it comes back here when ready."
    if message.status == OutreachMessage.Status.PENDING_APPROVAL:
        return f"Rejected: your own text to {message.lead} is in the queue; approve it when it reads right."
    if message.lead.status == Lead.Status.DISQUALIFIED:
        return f"Rejected, and {message.lead} is dropped from the campaign: nothing more goes to them."
    return f"Rejected the draft to {message.lead}."


@require_POST
@rep_required
def regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    def act(message, data):
        return message_regenerate(
            message=message, actor=request.user, revision=data["revision"], instruction=data["instruction"]
        )

    return _decide(
        request, pk, RegenerateForm, act, lambda m: f"Rewriting the draft to {m.lead}; it comes back here when ready."
    )


@require_POST
@rep_required
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    message = message_get_for_user(request.user, pk)
    try:
        message = message_unapprove(message=message, actor=request.user)
    except DecisionError as exc:
        message.refresh_from_db()
        return _decided(request, message, error=str(exc))
    return _decided(request, message, notice=f"Approval undone: the draft to {message.lead} is back in the queue.")


@require_POST
@rep_required
def snooze(request: HttpRequest, pk: int) -> HttpResponse:
    message = message_get_for_user(request.user, pk)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return _decided(request, message, error=form.errors["days"][0])
    until = clock.today() + dt.timedelta(days=form.cleaned_data["days"])
    if not lead_snooze(lead=message.lead, actor=request.user, until=until, reason="Snoozed from the queue"):
        status = message.lead.get_status_display().lower()
        return _decided(request, message, error=f"{message.lead} is {status}: there is nothing to snooze.")
    notice = f"Snoozed {message.lead} until {until:%d %b %Y}; the draft comes back to the queue then."
    return _decided(request, message, notice=notice, gone=True)


@require_POST
@rep_required
def bulk_approve(request: HttpRequest) -> HttpResponse:
    """Two steps: the first names what will be approved, the second (`confirm`) approves it."""
    form = BulkApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("approvals:queue")
    chosen = form.cleaned_data["items"]
    selected = messages_for_bulk(request.user, chosen)  # another rep's ids simply drop out
    if not form.cleaned_data["confirm"]:
        waiting = [m for m in selected if m.status == OutreachMessage.Status.PENDING_APPROVAL and not m.blocked]
        context = {
            "ready": [m for m in waiting if m.revision == chosen[m.pk]],
            "changed": [m for m in waiting if m.revision != chosen[m.pk]],
            "unavailable": len(chosen) - len(waiting),
        }
        template = "approvals/bulk_confirm.html"
        return render(request, f"{template}#bulk-confirm" if request.htmx else template, context)
    approved, refused = messages_approve_many(messages=selected, revisions=chosen, actor=request.user)
    request.session[LAST_BULK] = [message.pk for message in approved]  # what the queue offers to undo
    if approved:
        plural = "s" if len(approved) != 1 else ""
        messages.success(
            request, f"Approved {len(approved)} draft{plural}. Each can be undone until it starts sending."
        )
    for message, reason in refused:
        messages.error(request, f"{message.lead}: {reason}")
    return redirect("approvals:queue")


@require_POST
@rep_required
def bulk_undo(request: HttpRequest) -> HttpResponse:
    """Undo a bulk approval: every draft of the batch that has not started sending goes back to the queue."""
    form = BulkUndoForm(request.POST)
    request.session.pop(LAST_BULK, None)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("approvals:queue")
    undone, refused = messages_unapprove_many(
        messages=messages_for_bulk(request.user, form.cleaned_data["items"]), actor=request.user
    )
    if undone:
        plural = "s are" if len(undone) != 1 else " is"
        messages.success(request, f"Approval undone: {len(undone)} draft{plural} back in the queue.")
    for message, reason in refused:
        messages.error(request, f"{message.lead}: {reason}")
    return redirect("approvals:queue")
