"""LinkedIn invitations after they are sent: accepted (webhook or polling), or withdrawn when stale."""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction

from leads.services import activity_record
from outreach.channels.base import ChannelUnavailable
from outreach.channels.registry import channel_for
from outreach.models import OutreachMessage, SendingAccount

log = logging.getLogger(__name__)
Status, Kind = OutreachMessage.Status, OutreachMessage.Kind


def _open_invites(account: SendingAccount):
    return OutreachMessage.objects.filter(
        account=account,
        kind=Kind.CONNECTION_NOTE,
        status=Status.SENT,
        accepted_at__isnull=True,
        withdrawn_at__isnull=True,
    )


@transaction.atomic
def invitation_accepted(*, account: SendingAccount, provider_id: str, at: dt.datetime) -> bool:
    """The person accepted our invitation: the sequence may now message them. Idempotent."""
    invite = (
        _open_invites(account).filter(lead__provider_id=provider_id).select_related("lead").order_by("-sent_at").first()
    )
    if invite is None or not OutreachMessage.objects.filter(pk=invite.pk, accepted_at__isnull=True).update(
        accepted_at=at
    ):
        return False
    activity_record(verb="invite.accepted", lead=invite.lead, message=invite, account=account.pk)
    return True


def relations_poll(*, account_id: int, now: dt.datetime) -> int:
    """The webhook's fallback: new connections since the oldest open invitation of the account."""
    account = SendingAccount.objects.get(pk=account_id)
    oldest = _open_invites(account).order_by("sent_at").values_list("sent_at", flat=True).first()
    if oldest is None:
        return 0
    try:
        relations = channel_for(account.channel).list_relations(account, since=oldest)
    except ChannelUnavailable as exc:
        log.warning("relations of account %s unavailable: %s", account.pk, exc)
        return 0
    # Relations include every new connection, not only ours: look up just the invited people.
    invited = set(_open_invites(account).values_list("lead__provider_id", flat=True))
    return sum(
        invitation_accepted(account=account, provider_id=r.provider_id, at=r.connected_at)
        for r in relations
        if r.provider_id in invited
    )


def invites_withdraw_stale(*, account_id: int, now: dt.datetime) -> int:
    """Withdraw invitations pending longer than INVITE_WITHDRAW_AFTER_DAYS: they clog the weekly quota."""
    account = SendingAccount.objects.get(pk=account_id)
    cutoff = now - dt.timedelta(days=settings.INVITE_WITHDRAW_AFTER_DAYS)
    stale = {
        message.lead.provider_id: message
        for message in _open_invites(account).filter(sent_at__lt=cutoff).select_related("lead")
    }
    if not stale:
        return 0
    channel = channel_for(account.channel)
    withdrawn = 0
    try:
        pending = channel.list_pending_invites(account)
    except ChannelUnavailable as exc:
        log.warning("pending invitations of account %s unavailable: %s", account.pk, exc)
        return 0
    for invite in pending:
        message = stale.get(invite.provider_id)
        if message is None:
            continue
        try:
            channel.withdraw_invite(account, invitation_id=invite.invitation_id)
        except ChannelUnavailable as exc:
            log.warning("withdrawing invitation %s failed: %s", invite.invitation_id, exc)
            continue
        if OutreachMessage.objects.filter(pk=message.pk, withdrawn_at__isnull=True).update(withdrawn_at=now):
            activity_record(
                verb="invite.withdrawn",
                lead=message.lead,
                message=message,
                days=(now - message.sent_at).days,
            )
            withdrawn += 1
    return withdrawn
