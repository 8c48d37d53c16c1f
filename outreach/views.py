from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from outreach.accounts import account_resume
from outreach.forms import InboxFilterForm
from outreach.models import OutreachMessage, SendingAccount
from outreach.reconcile import message_give_up, message_mark_sent, message_resend
from outreach.selectors import (
    accounts_stopped_for,
    inbox_for,
    message_to_check_get_for_user,
    messages_to_check_for,
    unknown_messages_for,
)
from outreach.services import DecisionError
from salesdept.roles import is_manager, manager_required, rep_required
from salesdept.views_helpers import partial_or_page

INBOX = "outreach/inbox.html"
CHECKING = "outreach/needs_checking.html"
PAGE_SIZE = 50


@require_GET
@rep_required
def inbox(request: HttpRequest) -> HttpResponse:
    form = InboxFilterForm(request.GET, show_reps=is_manager(request.user))
    replies = inbox_for(request.user, **form.filters())
    page = Paginator(replies, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, partial_or_page(request, INBOX, "inbox-list"), {"form": form, "page": page})


@require_GET
@rep_required
def needs_checking(request: HttpRequest) -> HttpResponse:
    """Sends nobody is sure about, and failed ones: a person checks the channel and decides."""
    page = Paginator(messages_to_check_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    accounts = accounts_stopped_for(request.user) if is_manager(request.user) else []
    return render(request, partial_or_page(request, CHECKING, "check-list"), {"page": page, "accounts": accounts})


def _reconcile(request: HttpRequest, pk: int, act: Callable[..., OutreachMessage], notice: str) -> HttpResponse:
    """One decision on a message to check; htmx swaps the message in place, a plain form goes back."""
    message = message_to_check_get_for_user(request.user, pk)
    try:
        message = act(message=message, actor=request.user)
        error = ""
    except DecisionError as exc:
        message.refresh_from_db()
        error = str(exc)
    if request.htmx:
        context = {"message": message, "notice": "" if error else notice, "error": error, "oob": True}
        context["nav_unknown_count"] = unknown_messages_for(request.user).count()
        return render(request, f"{CHECKING}#check", context)
    (messages.error if error else messages.success)(request, error or notice)
    return redirect("outreach:needs_checking")


@require_POST
@rep_required
def check_mark_sent(request: HttpRequest, pk: int) -> HttpResponse:
    return _reconcile(request, pk, message_mark_sent, "Marked as sent: it counts like any other send.")


@require_POST
@rep_required
def check_resend(request: HttpRequest, pk: int) -> HttpResponse:
    return _reconcile(request, pk, message_resend, "Approved again: it goes out in the account's next sending slot.")


@require_POST
@rep_required
def check_give_up(request: HttpRequest, pk: int) -> HttpResponse:
    return _reconcile(request, pk, message_give_up, "Given up: nothing more is done with this message.")


@require_POST
@manager_required
def account_resume_sending(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(SendingAccount, pk=pk)
    who = request.user.get_full_name() or request.user.email
    if account_resume(account=account, reason=f"Resumed by {who}", by_provider=False):
        messages.success(request, f"Sending from {account.name} resumed.")
    else:
        messages.error(request, f"{account.name} is already sending: nothing was changed.")
    return redirect("outreach:needs_checking")
