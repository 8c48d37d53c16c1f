"""The link a prospect opens to read their proposal: signed, unguessable, expiring, served without login.

The token signs the proposal's id with a random key drawn when it went to the approval queue (a new
queueing draws a new key, so an older link stops working). It serves the PDF only once the message
that carries it is approved, and only until the link's expiry.
"""

import datetime as dt
import secrets

from django.conf import settings
from django.core import signing
from django.urls import reverse

from outreach.models import OutreachMessage
from proposals.models import Proposal
from salesdept import clock

SALT = "proposals.link"
LINK_DAYS = 60  # long enough for a buying committee to read it; a later look needs a new link
# The statuses in which the prospect may hold the link: approved (it may go any minute) and beyond.
SERVED = (
    OutreachMessage.Status.APPROVED,
    OutreachMessage.Status.SENDING,
    OutreachMessage.Status.SENT,
    OutreachMessage.Status.UNKNOWN,
)


def new_link(now: dt.datetime) -> tuple[str, dt.datetime]:
    """A fresh key and when a link made with it expires."""
    return secrets.token_urlsafe(24), now + dt.timedelta(days=LINK_DAYS)


def link_token(proposal: Proposal) -> str:
    return signing.Signer(salt=SALT).sign(f"{proposal.pk}.{proposal.link_key}")


def public_url(proposal: Proposal) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("proposal_link:pdf", args=[link_token(proposal)])


def proposal_for_token(token: str) -> Proposal | None:
    """The proposal a link may serve, or None: tampered, replaced, expired, or not approved."""
    try:
        value = signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        return None
    pk, _, key = value.partition(".")
    if not pk.isdigit() or not key:
        return None
    proposal = Proposal.objects.select_related("message").filter(pk=int(pk), link_key=key).first()
    if proposal is None or proposal.message is None or proposal.pdf is None:
        return None
    if proposal.link_expires_at is None or clock.now() >= proposal.link_expires_at:
        return None
    if proposal.message.status not in SERVED:
        return None
    return proposal
