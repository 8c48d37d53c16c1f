"""Reads on outreach, scoped like leads: reps see their own leads' conversations, managers all."""

import uuid

from django.db.models import F, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from campaigns.models import Campaign
from leads.models import Lead
from outreach.models import InboundMessage, LinkedInLink, OutreachMessage, SendingAccount
from salesdept.roles import is_manager

Status = OutreachMessage.Status
TO_CHECK = (Status.UNKNOWN, Status.FAILED)  # what Needs checking lists


def messages_visible_to(user) -> QuerySet[OutreachMessage]:
    messages = OutreachMessage.objects.all()
    return messages if is_manager(user) else messages.filter(lead__owner=user)


def replies_visible_to(user) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.all() if is_manager(user) else InboundMessage.objects.filter(lead__owner=user)


def inbound_get_for_user(user, pk: int) -> InboundMessage:
    """404 for a reply the user may not see: another rep's conversation does not exist for them."""
    return get_object_or_404(replies_visible_to(user).select_related("lead"), pk=pk)


def inbox_for(
    user, *, intent: str = "", rep_id: int | None = None, needs_look: bool = False
) -> QuerySet[InboundMessage]:
    """Replies newest first, each with its lead, the message it answers and any suggested answer.

    `rep_id` narrows a manager's view to one rep's leads; a rep's view is theirs whatever it says.
    `needs_look` keeps the replies read too unsurely to act on, which wait for a rep to confirm.
    """
    replies = replies_visible_to(user)
    if needs_look:
        replies = replies.filter(needs_look=True)
    if rep_id is not None:
        replies = replies.filter(lead__owner_id=rep_id)
    if intent:
        replies = replies.filter(intent=intent)
    answers = OutreachMessage.objects.only("pk", "reply_to_id", "status", "blocked").order_by("pk")
    return (
        replies.select_related("lead__company", "lead__owner", "in_reply_to")
        .prefetch_related(Prefetch("suggested_answers", queryset=answers))
        .order_by("-received_at", "-pk")
    )


# Needs checking: sends nobody is sure about, and failed ones.


def messages_to_check_for(user) -> QuerySet[OutreachMessage]:
    """Unknown and failed sends, newest first, with what the page shows of each."""
    return (
        messages_visible_to(user)
        .filter(status__in=TO_CHECK)
        .select_related("lead__company", "lead__owner", "account")
        .order_by(F("sending_started_at").desc(nulls_last=True), "-created_at", "-pk")
    )


def unknown_messages_for(user) -> QuerySet[OutreachMessage]:
    return messages_visible_to(user).filter(status=Status.UNKNOWN)


def message_to_check_get_for_user(user, pk: int) -> OutreachMessage:
    """404 for a message the user may not see: another rep's work does not exist for them."""
    return get_object_or_404(messages_visible_to(user).select_related("lead", "account"), pk=pk)


def accounts_stopped_for(user) -> QuerySet[SendingAccount]:
    """Accounts that cannot send: the user's own, and for a manager everyone's."""
    accounts = SendingAccount.objects.filter(is_active=True).exclude(health=SendingAccount.Health.OK)
    if not is_manager(user):
        accounts = accounts.filter(owner=user)
    return accounts.select_related("owner").order_by("name", "pk")


def kinds_to_write(user) -> list[tuple[str, str]]:
    """The kinds of message the user's own active accounts can send, as form choices."""
    channels = set(SendingAccount.objects.filter(owner=user, is_active=True).values_list("channel", flat=True))
    return [
        (kind, label)
        for kind, label in OutreachMessage.Kind.choices
        if channels & set(SendingAccount.channels_for(kind))
    ]


def kind_to_write(lead: Lead, kinds: list[tuple[str, str]]) -> str | None:
    """The kind a rep most likely writes next: the conversation's own (a LinkedIn message once the person
    accepted or answered), never a connection note to someone already connected. None: the first offered."""
    offered = {kind for kind, _ in kinds}
    Kind = OutreachMessage.Kind
    sent = lead.messages.filter(status=OutreachMessage.Status.SENT).order_by("-sent_at", "-pk")
    last = sent.exclude(kind=Kind.CONNECTION_NOTE).values_list("kind", flat=True).first()
    if last in offered:
        return last
    connected = sent.filter(kind=Kind.CONNECTION_NOTE, accepted_at__isnull=False).exists()
    if (connected or lead.inbound_messages.exists()) and Kind.MESSAGE in offered:
        return Kind.MESSAGE
    return None


def accounts_to_write(*, actor, kind: str, campaign: Campaign | None = None) -> list[SendingAccount]:
    """The rep's own active accounts that can send `kind`, those on the campaign first."""
    on_campaign = set(campaign.sending_accounts.values_list("pk", flat=True)) if campaign else set()
    accounts = SendingAccount.objects.filter(owner=actor, is_active=True, channel__in=SendingAccount.channels_for(kind))
    return sorted(accounts, key=lambda a: (a.pk not in on_campaign, a.pk))


def linkedin_section_for(user, *, link_id: str = "") -> dict:
    """The profile's LinkedIn section: the user's LinkedIn accounts, and the sign-in they just came back from."""
    accounts = SendingAccount.objects.filter(owner=user, is_active=True, channel=SendingAccount.Channel.UNIPILE)
    link = None
    if link_id:
        try:
            link = LinkedInLink.objects.filter(pk=uuid.UUID(link_id), user=user).first()
        except ValueError:
            link = None  # a mangled query string: as if there were none
    return {"linkedin_accounts": accounts.order_by("name", "pk"), "linkedin_link": link}


def mailbox_for(user) -> SendingAccount | None:
    """The person's own email account, the one /me/ edits (the first connected, if there are several)."""
    accounts = SendingAccount.objects.filter(owner=user, channel=SendingAccount.Channel.EMAIL, is_active=True)
    return accounts.order_by("pk").first()
