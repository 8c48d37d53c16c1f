"""Connect LinkedIn: a rep signs in on Unipile's hosted page, Unipile tells us, the account is ready.

The rep's LinkedIn password never reaches us. Each click makes one LinkedInLink whose notify URL
carries a secret (only its hash is kept): Unipile's call with it creates the account (or, for a
reconnect, resumes it), once. The account starts with the conservative defaults and warm-up of
providers.md §2.2; a worker then reads its own LinkedIn id and plan and points our webhooks at us.
"""

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import uuid
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from leads.services import activity_record
from outreach.accounts import account_resume
from outreach.channels.base import ChannelUnavailable
from outreach.channels.unipile import hosted_link, webhooks_register
from outreach.models import LinkedInLink, SendingAccount
from salesdept import clock
from salesdept.people import display_name

log = logging.getLogger(__name__)
Kind = LinkedInLink.Kind
# Long enough to sign in with two-factor codes; Unipile also kills links at its daily restart.
LINK_LIFETIME = dt.timedelta(hours=1)
# What Unipile's notify says when the rep signed in (creation) or signed in again (reconnection).
NOTIFY_OK = {Kind.CREATE: "CREATION_SUCCESS", Kind.RECONNECT: "RECONNECTED"}


class ConnectError(Exception):
    """No sign-in link could be made; the message is for the rep."""


class NotifyRefused(Exception):
    """A notify call that must change nothing: wrong secret, expired, or a replay naming another account."""


@dataclass(frozen=True)
class NotifyResult:
    outcome: str  # "connected", "reconnected", "already done", "ignored"
    account: SendingAccount | None = None


def linkedin_link_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _absolute(path: str) -> str:
    """Unipile and the rep's browser reach us at SITE_URL, whatever host made the request."""
    return settings.SITE_URL.rstrip("/") + path


@transaction.atomic
def linkedin_link_create(*, user, account: SendingAccount | None = None, now: dt.datetime | None = None) -> str:
    """The URL of Unipile's sign-in page for the user: a new account, or `account` to reconnect."""
    now = now or clock.now()
    if account is not None and (account.owner_id != user.pk or account.channel != SendingAccount.Channel.UNIPILE):
        raise ConnectError("Only its owner can reconnect a LinkedIn account.")
    secret = secrets.token_urlsafe(32)
    expires = now + LINK_LIFETIME
    expires -= dt.timedelta(microseconds=expires.microsecond % 1000)  # what Unipile's millisecond format says
    link = LinkedInLink.objects.create(
        id=uuid.uuid4(),
        user=user,
        kind=Kind.RECONNECT if account else Kind.CREATE,
        account=account,
        secret_hash=linkedin_link_hash(secret),
        expires_at=expires,
    )
    back = reverse("profile")
    try:
        return hosted_link(
            name=str(link.id),
            notify_url=_absolute(reverse("webhooks:linkedin_notify", args=[link.id, secret])),
            success_url=_absolute(f"{back}?linkedin={link.id}#linkedin"),
            failure_url=_absolute(f"{back}?linkedin={link.id}&failed=1#linkedin"),
            expires_at=link.expires_at,
            reconnect_account=account.provider_account_id if account else "",
        )
    except ChannelUnavailable as exc:
        transaction.set_rollback(True)  # no link at Unipile: no row waiting for a notify
        raise ConnectError(f"LinkedIn cannot be connected right now. {exc}") from exc


def _check_secret(link: LinkedInLink, secret: str) -> None:
    if not hmac.compare_digest(link.secret_hash, linkedin_link_hash(secret)):
        raise NotifyRefused("Wrong secret.")


@transaction.atomic
def linkedin_notify(*, link_id: uuid.UUID, secret: str, payload: dict, now: dt.datetime | None = None) -> NotifyResult:
    """Unipile says the rep signed in: create or reconnect their account, once."""
    now = now or clock.now()
    link = (
        LinkedInLink.objects.select_for_update(of=("self",))
        .filter(pk=link_id)
        .select_related("user", "account")
        .first()
    )
    if link is None:
        raise NotifyRefused("No such link.")
    _check_secret(link, secret)
    account_id = str(payload.get("account_id") or "")
    if str(payload.get("name") or "") != str(link.id) or not account_id:
        raise NotifyRefused("The notify names another link or no account.")
    if link.used_at:
        if link.provider_account_id == account_id:
            return NotifyResult("already done", link.account)  # Unipile retried: nothing more to do
        raise NotifyRefused("The link was already used for another account.")
    if link.expires_at <= now:
        raise NotifyRefused("The link expired.")
    if str(payload.get("status") or "").upper() != NOTIFY_OK[link.kind]:
        return NotifyResult("ignored")  # a failure or an intermediate step: the rep sees Unipile's page
    if link.kind == Kind.RECONNECT:
        account, outcome = _reconnected(link, account_id), "reconnected"
    else:
        account, outcome = _connected(link, account_id, now), "connected"
    LinkedInLink.objects.filter(pk=link.pk).update(used_at=now, provider_account_id=account_id, account=account)
    from outreach.tasks import linkedin_account_setup_task

    linkedin_account_setup_task.delay_on_commit(account.pk)
    return NotifyResult(outcome, account)


def _connected(link: LinkedInLink, account_id: str, now: dt.datetime) -> SendingAccount:
    """A new account with the model's conservative defaults, warming up from today."""
    existing = SendingAccount.objects.filter(channel=SendingAccount.Channel.UNIPILE, provider_account_id=account_id)
    if (account := existing.first()) is not None:
        if account.owner_id != link.user_id:
            raise NotifyRefused("That LinkedIn account already sends for someone else.")
        SendingAccount.objects.filter(pk=account.pk).update(is_active=True)  # connected again after removal
        account_resume(account=account, reason="Connected again on LinkedIn.")
        return account
    account = SendingAccount.objects.create(
        name=f"{display_name(link.user)} LinkedIn"[:200],
        channel=SendingAccount.Channel.UNIPILE,
        owner=link.user,
        provider_account_id=account_id,
        # The warm-up starts today, in the account's (default) timezone.
        activated_on=now.astimezone(zoneinfo.ZoneInfo(SendingAccount._meta.get_field("timezone").default)).date(),
    )
    activity_record(verb="account.connected", account=account.pk, actor=link.user)
    return account


def _reconnected(link: LinkedInLink, account_id: str) -> SendingAccount:
    account = link.account
    if account is None or account.provider_account_id != account_id:
        raise NotifyRefused("The reconnection names another account.")
    # Only a provider's pause (the credentials error) lifts: a pause a person made stays.
    account_resume(account=account, reason=f"Reconnected by {display_name(link.user)}.")
    activity_record(verb="account.reconnected", account=account.pk, actor=link.user)
    return account


def linkedin_account_setup(*, account_id: int, now: dt.datetime | None = None) -> str:
    """Read the account's own LinkedIn id and plan, then make sure Unipile's webhooks reach us."""
    account = SendingAccount.objects.get(pk=account_id)
    from outreach.channels.unipile import UnipileChannel

    profile = UnipileChannel().own_profile(account)  # ChannelUnavailable: the task retries
    SendingAccount.objects.filter(pk=account.pk).update(
        provider_user_id=profile.provider_id,
        is_premium=profile.premium,
        has_sales_navigator=profile.sales_navigator,
        has_recruiter=profile.recruiter,
        capabilities_read_at=now or clock.now(),
    )
    registered = unipile_webhooks_ensure()
    return f"registered {', '.join(registered)}" if registered else "ready"


def unipile_webhooks_ensure() -> list[str]:
    """Point Unipile's webhooks at this deployment, if they are not yet: the sources registered now.

    Without UNIPILE_WEBHOOK_SECRET our webhook view refuses every call, so nothing is registered;
    replies then arrive by polling alone, which is slower but misses nothing.
    """
    secret = settings.UNIPILE_WEBHOOK_SECRET
    if not secret:
        log.warning("Unipile webhooks not registered: UNIPILE_WEBHOOK_SECRET is not set; replies come by polling")
        return []
    return webhooks_register(request_url=_absolute(reverse("webhooks:unipile")), secret=secret)
