from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from outreach.accounts import account_resume
from outreach.forms import InboundConfirmForm, InboxFilterForm
from outreach.linkedin import ConnectError, linkedin_link_create
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from outreach.reconcile import message_give_up, message_mark_sent, message_resend
from outreach.replies import ConfirmError, inbound_confirm
from outreach.selectors import (
    accounts_stopped_for,
    inbound_get_for_user,
    inbox_for,
    message_to_check_get_for_user,
    messages_to_check_for,
    unknown_messages_for,
)
from outreach.services import DecisionError
from salesdept.people import display_name
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
    look_count = inbox_for(request.user, needs_look=True).count()
    context = {"form": form, "page": page, "look_count": look_count, "intents": InboundMessage.Intent.choices}
    return render(request, partial_or_page(request, INBOX, "inbox-list"), context)


@require_POST
@rep_required
def inbox_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """A rep settles what an unsure reply means; the reply then acts as a confident one would."""
    inbound = inbound_get_for_user(request.user, pk)
    form = InboundConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what the reply means.")
        return redirect(f"{reverse('outreach:inbox')}?look=1#reply-{pk}")
    try:
        inbound = inbound_confirm(inbound=inbound, actor=request.user, intent=form.cleaned_data["intent"])
        messages.success(request, f"{inbound.lead.full_name}'s reply confirmed as {inbound.get_intent_display()}.")
    except ConfirmError as exc:
        messages.error(request, str(exc))
    return redirect(f"{reverse('outreach:inbox')}?look=1")


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
    who = display_name(request.user)
    if account_resume(account=account, reason=f"Resumed by {who}", by_provider=False):
        messages.success(request, f"Sending from {account.name} resumed.")
    else:
        messages.error(request, f"{account.name} is already sending: nothing was changed.")
    return redirect("outreach:needs_checking")


def _to_linkedin(request: HttpRequest, account: SendingAccount | None) -> HttpResponse:
    """On to Unipile's sign-in page; back to the profile with the reason when no link could be made."""
    try:
        url = linkedin_link_create(user=request.user, account=account)
    except ConnectError as exc:
        messages.error(request, str(exc))
        return redirect(f"{reverse('profile')}#linkedin")
    response = render(request, "outreach/linkedin_redirect.html", {"url": url})
    response["Cache-Control"] = "no-store"  # a sign-in link for this rep alone
    return response


@require_POST
@rep_required
def linkedin_connect(request: HttpRequest) -> HttpResponse:
    return _to_linkedin(request, None)


@require_POST
@rep_required
def linkedin_reconnect(request: HttpRequest, pk: int) -> HttpResponse:
    """Only the owner signs in again: it is their LinkedIn password."""
    account = get_object_or_404(
        SendingAccount, pk=pk, owner=request.user, channel=SendingAccount.Channel.UNIPILE, is_active=True
    )
    return _to_linkedin(request, account)
