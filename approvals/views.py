from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from approvals.forms import ApproveForm, RegenerateForm, RejectForm
from approvals.selectors import blocked_for, message_get_for_user, pending_count_for, queue_for
from outreach.services import DecisionError, message_approve, message_regenerate, message_reject
from salesdept.roles import rep_required
from salesdept.views_helpers import partial_or_page

QUEUE = "approvals/queue.html"
PAGE_SIZE = 50  # the best-scored first; decided items make room for the next


@require_GET
@rep_required
def queue(request: HttpRequest) -> HttpResponse:
    items = list(queue_for(request.user)[:PAGE_SIZE])
    total = pending_count_for(request.user) if len(items) == PAGE_SIZE else len(items)
    context = {
        "items": items,
        "blocked": list(blocked_for(request.user)[:PAGE_SIZE]),
        "pending_total": total if total > len(items) else None,
        "pending_count": total,  # the navigation badge: no second count
    }
    return render(request, partial_or_page(request, QUEUE, "queue-list"), context)


@require_GET
@rep_required
def pending_count(request: HttpRequest) -> HttpResponse:
    return render(request, "approvals/queue.html#pending-count", {"pending_count": pending_count_for(request.user)})


def _decided(request: HttpRequest, message, *, notice: str = "", error: str = "", body: str | None = None):
    """The item after a decision: htmx swaps it in place; a plain form goes back to the queue."""
    if request.htmx:
        response = render(request, f"{QUEUE}#item", {"item": message, "notice": notice, "error": error, "body": body})
        return trigger_client_event(response, "queueChanged")
    (messages.error if error else messages.success)(request, error or notice)
    return redirect("approvals:queue")


@require_POST
@rep_required
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    message = message_get_for_user(request.user, pk)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        return _decided(request, message, error="This form is incomplete or out of date; reload the queue.")
    data = form.cleaned_data
    try:
        message = message_approve(
            message=message,
            actor=request.user,
            revision=data["revision"],
            subject=data["subject"] if "subject" in request.POST else None,
            body=data["body"] if "body" in request.POST else None,
        )
    except DecisionError as exc:
        message.refresh_from_db()
        return _decided(request, message, error=str(exc), body=data["body"] or None)
    return _decided(
        request, message, notice=f"Approved: the message to {message.lead} will go out in its sending window."
    )


@require_POST
@rep_required
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    message = message_get_for_user(request.user, pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        error = form.errors.get("reason", ["This form is out of date; reload the queue."])[0]
        return _decided(request, message, error=error)
    try:
        message = message_reject(
            message=message,
            actor=request.user,
            revision=form.cleaned_data["revision"],
            reason=form.cleaned_data["reason"],
        )
    except DecisionError as exc:
        message.refresh_from_db()
        return _decided(request, message, error=str(exc))
    return _decided(request, message, notice=f"Rejected the draft to {message.lead}.")


@require_GET
@rep_required
def item(request: HttpRequest, pk: int) -> HttpResponse:
    """One queue item as it is now; a draft being rewritten polls this until it is back."""
    return render(request, f"{QUEUE}#item", {"item": message_get_for_user(request.user, pk)})


@require_POST
@rep_required
def regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    message = message_get_for_user(request.user, pk)
    form = RegenerateForm(request.POST)
    if not form.is_valid():
        return _decided(request, message, error="This form is incomplete or out of date; reload the queue.")
    try:
        message = message_regenerate(
            message=message,
            actor=request.user,
            revision=form.cleaned_data["revision"],
            instruction=form.cleaned_data["instruction"],
        )
    except DecisionError as exc:
        message.refresh_from_db()
        return _decided(request, message, error=str(exc))
    return _decided(request, message, notice=f"Rewriting the draft to {message.lead}; it comes back here when ready.")
