"""Account health: a provider problem pauses the account and tells its owner; provider news lifts it."""

import datetime as dt

from django.db import transaction
from django.urls import reverse

from leads.services import activity_record
from outreach.models import SendingAccount
from salesdept.notifications import notify

Health = SendingAccount.Health


@transaction.atomic
def account_pause(
    *, account: SendingAccount, health: str, reason: str, by_provider: bool = True, until: dt.datetime | None = None
) -> bool:
    """Stop every send from the account and tell its owner. False when it was already so paused."""
    changed = (
        SendingAccount.objects.filter(pk=account.pk)
        .exclude(health=health, health_reason=reason[:300])
        .update(health=health, health_reason=reason[:300], paused_by_provider=by_provider, paused_until=until)
    )
    if not changed:
        return False
    account.health, account.health_reason, account.paused_until = health, reason[:300], until
    label = Health(health).label.lower()
    activity_record(verb="account.paused", account=account.pk, health=health, reason=reason[:300])
    logged_out = health == Health.AUTH_ERROR and account.channel == SendingAccount.Channel.UNIPILE
    notify(
        user=account.owner,
        text=f"Sending from {account.name} stopped ({label}): {reason}"[:300],
        # A logged-out LinkedIn account: its owner reconnects it from their profile. Otherwise Needs
        # checking, where a manager resumes it; admins reach the admin from there.
        url=f"{reverse('profile')}#linkedin-{account.pk}" if logged_out else reverse("outreach:needs_checking"),
    )
    return True


@transaction.atomic
def account_resume(*, account: SendingAccount, reason: str, by_provider: bool = True) -> bool:
    """Back to sending. A provider's "ok" never lifts a pause a person made."""
    accounts = SendingAccount.objects.filter(pk=account.pk).exclude(health=Health.OK)
    if by_provider:
        accounts = accounts.filter(paused_by_provider=True)
    if not accounts.update(health=Health.OK, health_reason="", paused_by_provider=False, paused_until=None):
        return False
    account.health, account.health_reason, account.paused_until = Health.OK, "", None
    activity_record(verb="account.resumed", account=account.pk, reason=reason)
    return True


# Unipile's account_status events (providers.md §1.8) and what they do to the account.
PROVIDER_STATUS = {
    "credentials": Health.AUTH_ERROR,
    "error": Health.PAUSED,
    "stopped": Health.PAUSED,
    "permissions": Health.RESTRICTED,
}
PROVIDER_OK = {"ok", "reconnected", "sync_success", "creation_success"}


def account_health_from_provider(*, account: SendingAccount, status: str, detail: str = "") -> str:
    """Apply a provider's account status: pause, resume, switch off, or nothing. Returns what was done."""
    status = status.lower()
    if health := PROVIDER_STATUS.get(status):
        reason = detail or f"The provider reports the account as {status}."
        return "paused" if account_pause(account=account, health=health, reason=reason) else "unchanged"
    if status in PROVIDER_OK:
        return "resumed" if account_resume(account=account, reason=f"The provider reports {status}.") else "unchanged"
    if status == "deleted":
        SendingAccount.objects.filter(pk=account.pk).update(is_active=False)
        account_pause(account=account, health=Health.PAUSED, reason="The account was removed at the provider.")
        return "disabled"
    return "ignored"


def accounts_resume_due(*, now: dt.datetime) -> int:
    """Automatic pauses (repeated rate limits) end by themselves."""
    resumed = 0
    for account in SendingAccount.objects.filter(paused_until__lte=now, paused_by_provider=True):
        resumed += account_resume(account=account, reason="The automatic pause ended.")
    return resumed


def account_own_id(*, account: SendingAccount) -> str:
    """The account's own LinkedIn id, asked of Unipile once and kept.

    Unipile's message_received fires for the account's own sends too (ours, and the rep's from
    their phone): without this id, our message would be stored as the prospect's reply. Nobody has
    to type it in; when Unipile cannot be asked, the error is raised and the event waits for a retry
    rather than being read as a reply.
    """
    if account.provider_user_id:
        return account.provider_user_id
    from outreach.channels.unipile import UnipileChannel

    own = UnipileChannel().own_provider_id(account)
    SendingAccount.objects.filter(pk=account.pk).update(provider_user_id=own)
    account.provider_user_id = own
    return own
