"""Opting out of email without logging in: the token link, RFC 8058 one-click, and the mailto address.

The token is in every email we send (footer and List-Unsubscribe), so whoever holds it may only
stop the emails: the pages show a first name at most, never the address.
"""

import secrets

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leads.models import Activity, Lead, Suppression
from leads.services import activity_record, lead_set_do_not_contact
from leads.suppression import suppression_add_for_lead
from outreach.models import OutreachMessage

TEMPLATE = "outreach/unsubscribe.html"


def lead_unsubscribe_token(*, lead: Lead) -> str:
    """The lead's opt-out token, made on the first email; two concurrent sends agree on one."""
    if lead.unsubscribe_token:
        return lead.unsubscribe_token
    Lead.objects.filter(pk=lead.pk, unsubscribe_token__isnull=True).update(unsubscribe_token=secrets.token_urlsafe(24))
    lead.unsubscribe_token = Lead.objects.values_list("unsubscribe_token", flat=True).get(pk=lead.pk)
    return lead.unsubscribe_token


@transaction.atomic
def lead_unsubscribe(*, token: str, via: str = "link") -> Lead | None:
    """Stop all contact with the token's lead, and keep them suppressed. Repeating it changes nothing."""
    lead = Lead.objects.select_for_update().filter(unsubscribe_token=token).first()
    if lead is None:
        return None
    lead_set_do_not_contact(lead=lead, actor=None, reason="Unsubscribed by email link")
    suppression_add_for_lead(lead=lead, reason=Suppression.Reason.UNSUBSCRIBE)
    # The row lock above serialises two clicks, so the check-then-insert cannot double the row.
    if not Activity.objects.filter(lead=lead, verb="lead.unsubscribed").exists():
        activity_record(verb="lead.unsubscribed", lead=lead, via=via)
    return lead


def unsubscribe_lead_for_token(token: str) -> Lead | None:
    return Lead.objects.filter(unsubscribe_token=token).first()


def unsubscribe_sender_name(lead: Lead) -> str:
    """Who the lead heard from: the owner of the account of the last email sent to them."""
    message = (
        OutreachMessage.objects.filter(lead=lead, kind=OutreachMessage.Kind.EMAIL, account__isnull=False)
        .exclude(sent_at__isnull=True)
        .select_related("account__owner")
        .order_by("-sent_at")
        .first()
    )
    return (message.account.owner.get_full_name() if message else "") or "us"


@login_not_required
@csrf_exempt  # RFC 8058: mail providers POST "List-Unsubscribe=One-Click" with no cookie and no token.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    # GET only asks: link scanners open every URL in a mail, and must not opt anyone out.
    if request.method == "POST":
        lead = lead_unsubscribe(token=token)
        if lead is None:
            return _page(request, "invalid", status=404)
        return _page(request, "done", first_name=lead.first_name)
    lead = unsubscribe_lead_for_token(token)
    if lead is None:
        return _page(request, "invalid", status=404)
    if lead.status == Lead.Status.DO_NOT_CONTACT:
        return _page(request, "done", first_name=lead.first_name)
    return _page(request, "confirm", first_name=lead.first_name, sender=unsubscribe_sender_name(lead))


def _page(request: HttpRequest, state: str, *, status: int = 200, **context) -> HttpResponse:
    context = {"state": state, "postal_address": settings.COMPANY_POSTAL_ADDRESS, **context}
    return render(request, TEMPLATE, context, status=status)
