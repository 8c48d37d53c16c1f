"""Reads for needs summaries and proposals. A rep sees those of their own leads; managers see all."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from leads.models import Lead
from outreach.models import InboundMessage, OutreachMessage
from outreach.optout import own_words
from proposals.models import NeedsSummary, Offer, Proposal
from proposals.needs import Turn
from salesdept.roles import is_manager


def conversation_turns(lead: Lead) -> list[Turn]:
    """What was sent to the lead and what they wrote back, oldest first, as the needs reader sees it.

    Their replies are cut to their own words: our text quoted under a reply is not theirs.
    """
    sent = OutreachMessage.objects.filter(lead=lead, status=OutreachMessage.Status.SENT).order_by("sent_at", "pk")
    replies = InboundMessage.objects.filter(lead=lead).order_by("received_at", "pk")
    ours = [(m.sent_at, False, m.body, None) for m in sent.only("sent_at", "body")]
    theirs = [(r.received_at, True, own_words(r.text), r.pk) for r in replies.only("received_at", "text")]
    turns, counts = [], {True: 0, False: 0}
    for at, is_theirs, text, reply_id in sorted(ours + theirs, key=lambda row: row[0]):
        counts[is_theirs] += 1
        ref = f"{'R' if is_theirs else 'S'}{counts[is_theirs]}"
        turns.append(Turn(ref=ref, theirs=is_theirs, text=text, at=at.date().isoformat(), reply_id=reply_id))
    return turns


def _needs_visible_to(user) -> QuerySet[NeedsSummary]:
    needs = NeedsSummary.objects.select_related("lead__company", "lead__owner", "edited_by", "created_by")
    return needs if is_manager(user) else needs.filter(lead__owner=user)


def needs_get_for_user(user, pk: int) -> NeedsSummary:
    """404 for a summary of a lead the user may not see."""
    return get_object_or_404(_needs_visible_to(user), pk=pk)


def proposals_visible_to(user) -> QuerySet[Proposal]:
    proposals = Proposal.objects.select_related("lead__company", "lead__owner", "offer", "message", "needs")
    return proposals if is_manager(user) else proposals.filter(lead__owner=user)


def proposal_get_for_user(user, pk: int) -> Proposal:
    """404 for a proposal to a lead the user may not see: another rep's work does not exist for them."""
    return get_object_or_404(proposals_visible_to(user), pk=pk)


def offers_active() -> QuerySet[Offer]:
    return Offer.objects.filter(is_active=True).prefetch_related("packages").order_by("name", "pk")


def lead_needs_section(lead: Lead) -> dict:
    """The lead page's needs and proposals: the latest summary, every proposal, newest first."""
    return {
        "needs": NeedsSummary.objects.filter(lead=lead).select_related("edited_by").first(),
        "proposals": list(Proposal.objects.filter(lead=lead).select_related("message").order_by("-version")),
        "lead": lead,
    }
