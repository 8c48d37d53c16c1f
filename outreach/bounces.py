"""Bounced email: the address is dead, so it is suppressed, and too many bounces pause the account."""

import logging
import uuid

from django.conf import settings
from django.db import transaction

from leads.models import Lead, Suppression
from leads.services import activity_record
from leads.suppression import suppression_add
from outreach.accounts import account_pause
from outreach.channels.base import InboundItem
from outreach.models import OutreachMessage, SendingAccount
from outreach.services import messages_cancel_for_lead
from salesdept import clock

log = logging.getLogger(__name__)
Status = OutreachMessage.Status
# The bounce rate is read over this many of the account's latest emails, once at least
# BOUNCE_MIN_SENT went out: one early bounce is no pattern.
BOUNCE_WINDOW = 50
BOUNCE_MIN_SENT = 20


def _bounced_message(key: str) -> OutreachMessage | None:
    try:
        uuid.UUID(key)
    except ValueError:
        return None
    return OutreachMessage.objects.select_related("lead").filter(idempotency_key=key).first()


@transaction.atomic
def email_bounce_record(*, account: SendingAccount, item: InboundItem) -> bool:
    """Mark the lead's address bounced, once. False when it was already, or matches no lead."""
    message = _bounced_message(item.in_reply_to_key) if item.in_reply_to_key else None
    address = (item.sender_email or (message.lead.email if message else "") or "").strip().lower()
    if address:
        suppression_add(kind=Suppression.Kind.EMAIL, value=address, reason=Suppression.Reason.BOUNCE)
    lead = message.lead if message else Lead.objects.filter(email__iexact=address).first() if address else None
    if lead is None:
        log.info("bounce %s matches no lead; the address is suppressed", item.provider_id)
        return False
    if address and lead.email and lead.email.lower() != address:
        # The lead's address changed since that email: the new one may well work.
        return False
    bounced_at = min(item.received_at, clock.now())
    if not Lead.objects.filter(pk=lead.pk, email_bounced_at__isnull=True).update(email_bounced_at=bounced_at):
        return False
    lead.email_bounced_at = bounced_at
    messages_cancel_for_lead(lead=lead, reason="The email address bounced", kind=OutreachMessage.Kind.EMAIL)
    activity_record(verb="email.bounced", lead=lead, message=message, account=account.pk, detail=item.text[:500])
    account_pause_if_bouncing(account=account)
    return True


def account_pause_if_bouncing(*, account: SendingAccount) -> bool:
    """Pause the account when too many of its recent emails bounced (a bad list hurts the domain)."""
    recent = list(
        OutreachMessage.objects.filter(account=account, kind=OutreachMessage.Kind.EMAIL, status=Status.SENT)
        .order_by("-sent_at", "-pk")
        .values_list("lead__email_bounced_at", flat=True)[:BOUNCE_WINDOW]
    )
    if len(recent) < BOUNCE_MIN_SENT:
        return False
    rate = sum(bounced_at is not None for bounced_at in recent) / len(recent)
    if rate <= settings.EMAIL_BOUNCE_PAUSE_RATE:
        return False
    if not SendingAccount.objects.filter(pk=account.pk, health=SendingAccount.Health.OK).exists():
        return False  # already paused: no second notice for every further bounce
    reason = f"{rate:.0%} of the last {len(recent)} emails bounced; check the lead list before resuming."
    return account_pause(account=account, health=SendingAccount.Health.PAUSED, reason=reason)
