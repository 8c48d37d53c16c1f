from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from outreach.accounts import account_resume
from outreach.forms import InboundConfirmForm, InboxFilterForm, MailboxForm
from outreach.linkedin import ConnectError, linkedin_link_create
from outreach.mailbox import Check, imap_check, mailbox_connect, smtp_check
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from outreach.reconcile import message_give_up, message_mark_sent, message_resend
from outreach.replies import ConfirmError, inbound_confirm
from outreach.selectors import (
    accounts_stopped_for,
    inbound_get_for_user,
    inbox_for,
    mailbox_for,
    message_to_check_get_for_user,
    messages_to_check_for,
    unknown_messages_for,
)
from salesdept.errors import DecisionError
from salesdept.people import display_name
from salesdept.ratelimit import RateLimited, rate_limit_take
from salesdept.roles import has_any_role, is_manager, manager_required, rep_required
from salesdept.views_helpers import partial_or_page

INBOX = "outreach/inbox.html"
CHECKING = "outreach/needs_checking.html"
MAILBOX = "outreach/mailbox.html"
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


def mailbox_context(user) -> dict:
    """The /me/ section: the person's mailbox and its form (nothing for someone without a role)."""
    if not has_any_role(user):
        return {}
    mailbox = mailbox_for(user)
    return {"mailbox": mailbox, "mailbox_form": MailboxForm(instance=mailbox)}


@sensitive_post_parameters("password")  # an error report shows stars, not the password
@require_http_methods(["GET", "POST"])
@rep_required
def mailbox(request: HttpRequest) -> HttpResponse:
    """Connect or change one's own mailbox. "Send a test" and "Read the inbox" store nothing; saving runs both first."""
    current = mailbox_for(request.user)
    instance = current or SendingAccount(owner=request.user, channel=SendingAccount.Channel.EMAIL)
    form = MailboxForm(request.POST or None, instance=instance)
    context = {"mailbox": current, "mailbox_form": form}
    if request.method == "GET" or not form.is_valid():
        return render(request, MAILBOX, context)
    action = request.POST.get("action", "")
    try:
        rate_limit_take(user=request.user, action="mailbox_check")
    except RateLimited as exc:
        return render(request, MAILBOX, context | {"checks": [Check(False, str(exc))], "not_saved": True})
    account = form.account()
    if action == "send_test":
        checks = [smtp_check(account, to=request.user.email or account.email_address)]
    elif action == "read_test":
        checks = [imap_check(account)]
    else:
        changed = [name for name in form.changed_data if name != "password"]
        result = mailbox_connect(owner=request.user, account=account, changed=changed)
        if result.ok:
            messages.success(request, f"Mailbox {account.email_address} connected: {result.read.text}")
            return redirect("profile")
        checks = [result.sent, result.read]
    return render(request, MAILBOX, context | {"checks": checks, "not_saved": action not in ("send_test", "read_test")})
