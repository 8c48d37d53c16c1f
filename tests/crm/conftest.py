import datetime as dt

import pytest

from crm.services import connection_save
from leads.models import Lead
from leads.services import activity_record
from outreach.models import OutreachMessage
from tests.factories import CampaignFactory, CompanyFactory, LeadFactory, MessageFactory
from tests.fakes.hubspot_server import FakeHubSpot


@pytest.fixture
def hubspot(settings):
    with FakeHubSpot() as fake:
        settings.HUBSPOT_API_URL = fake.url
        yield fake


@pytest.fixture
def connection(hubspot, bob):
    return connection_save(kind="hubspot", credentials=hubspot.token, actor=bob, connected_as="portal 4242")


@pytest.fixture
def later(time_machine):
    """Move the clock (ours and the fake's: one process) `minutes` on, still ticking."""

    def move(minutes: float) -> None:
        time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes), tick=True)

    return move


def conversation(owner, *, email: str | None, company=None, status=Lead.Status.CONTACTED, reply: str = "") -> Lead:
    """A person we wrote to (a sent message on the timeline), and their reply when `reply` is given."""
    lead = LeadFactory(
        status=status, owner=owner, email=email, company=company if company is not None else CompanyFactory(),
        campaign=CampaignFactory(owner=owner),
    )  # fmt: skip
    message = MessageFactory(lead=lead, status=OutreachMessage.Status.SENT, body=f"Hi {lead.first_name}, a question.")
    activity_record(verb="message.sent", lead=lead, message=message, actor=owner)
    if reply:
        reply_received(lead, reply, message=message)
    return lead


def reply_received(lead: Lead, text: str, *, message=None):
    """The reply's timeline entry, as outreach.replies writes it (the sync reads only the timeline)."""
    return activity_record(verb="reply.received", lead=lead, message=message, text=text)
