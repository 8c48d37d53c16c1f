"""A prospect who told us what they need over three replies, and an offer to answer them (unit and browser tests)."""

import datetime as dt
from decimal import Decimal

from leads.models import Lead
from outreach.models import InboundMessage, OutreachMessage
from proposals.models import Offer, Package
from salesdept import clock
from tests.factories import CompanyFactory, LeadFactory, MessageFactory

# What Lena wrote back, over three replies: the only words a needs summary may quote.
REPLIES = [
    "Thanks Alice. Honestly our month-end close is a mess: it takes us 9 days and lives in spreadsheets.",
    "We need something that integrates with NetSuite and keeps an audit trail. Our budget is around £40k a year.",
    "We would want to go live by the end of Q1. Our CFO Maria Lopez signs off on anything above £20k.",
]


def conversation_lead(*, campaign, owner, account) -> Lead:
    """The owner's lead who answered a LinkedIn message three times, the last touch a week ago."""
    lead = LeadFactory(
        campaign=campaign, owner=owner, first_name="Lena", last_name="Park", email="lena@acme.example",
        company=CompanyFactory(name="Acme Ledger"), status=Lead.Status.INTERESTED,
    )  # fmt: skip
    week_ago = clock.now() - dt.timedelta(days=7)
    sent = MessageFactory(
        lead=lead, campaign=campaign, account=account, kind="message", status=OutreachMessage.Status.SENT,
        sent_at=week_ago, body="Hi Lena, how does Acme close its books today? Alice",
    )  # fmt: skip
    for i, text in enumerate(REPLIES):
        InboundMessage.objects.create(
            lead=lead, account=account, in_reply_to=sent, provider_id=f"in-{lead.pk}-{i}", text=text,
            received_at=week_ago + dt.timedelta(hours=i + 1), intent="interested",
        )  # fmt: skip
    return lead


def close_offer() -> Offer:
    offer = Offer.objects.create(
        name="Close Accelerator", timeline="Kick-off in week 1, NetSuite connected by week 3, live by week 6.",
        terms="Prices per year, excluding VAT. Valid for 30 days.",
    )  # fmt: skip
    Package.objects.create(offer=offer, name="Core", included="Close checklist\nNetSuite sync", price=Decimal("18000"))
    Package.objects.create(
        offer=offer,
        name="Plus",
        included="Everything in Core\nAudit trail\nOnboarding",
        price=Decimal("36500"),
        order=1,
    )
    return offer
