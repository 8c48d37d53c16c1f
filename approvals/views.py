from collections.abc import Callable

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


STALE_FORM = "This form is incomplete or out of date; reload the queue."


def _decide(request: HttpRequest, pk: int, form_class, act: Callable, notice: Callable[[object], str]) -> HttpResponse:
    """One decision on a queue item: access check, form, the service, then the item as it now is."""
    message = message_get_for_user(request.user, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return _decided(request, message, error=(form.errors.get("reason") or [STALE_FORM])[0])
    try:
        message = act(message, form.cleaned_data)
    except DecisionError as exc:
        message.refresh_from_db()
        return _decided(request, message, error=str(exc), body=form.cleaned_data.get("body") or None)
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
        return message_reject(message=message, actor=request.user, revision=data["revision"], reason=data["reason"])

    return _decide(request, pk, RejectForm, act, lambda m: f"Rejected the draft to {m.lead}.")


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


@require_GET
@rep_required
def item(request: HttpRequest, pk: int) -> HttpResponse:
    """One queue item as it is now; a draft being rewritten polls this until it is back."""
    return render(request, f"{QUEUE}#item", {"item": message_get_for_user(request.user, pk)})
