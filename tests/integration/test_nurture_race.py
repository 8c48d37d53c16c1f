"""The weekly nurturing run, started by several workers at once on PostgreSQL: one touch per person, no item twice."""

import datetime as dt

import pytest

from leads.models import Activity, Lead
from library.models import ContentItem, Nurture
from library.nurture import nurtures_suggest_week
from outreach.models import OutreachMessage
from salesdept import clock
from salesdept.roles import REP
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory, UserFactory
from tests.integration.test_concurrency import THREADS, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PEOPLE = 6


def test_workers_running_the_week_together_suggest_once_per_person(monkeypatch):
    monkeypatch.setattr("outreach.tasks.messages_fill_task.delay_on_commit", lambda ids: None)  # no broker here
    rep = UserFactory(username="rep@example.com", role=REP)
    account = SendingAccountFactory(owner=rep)
    campaign = CampaignFactory(accounts=[account])
    for title in ("Closing the books", "Forecasting in a downturn"):
        ContentItem.objects.create(title=title, url=f"https://example.com/{len(title)}", summary=title, labels=[])
    invited = clock.now() - dt.timedelta(days=45)
    leads = []
    for _ in range(PEOPLE):
        lead = LeadFactory(campaign=campaign, owner=rep, status=Lead.Status.CONTACTED)
        MessageFactory(
            lead=lead, account=account, status=OutreachMessage.Status.SENT, sent_at=invited, accepted_at=invited
        )
        leads.append(lead)
    now = clock.now()

    created = run_together(THREADS, lambda _: nurtures_suggest_week(now=now))

    made = [pk for ids in created for pk in ids]
    assert len(made) == len(set(made)) == PEOPLE  # every person once, whichever worker got there
    assert Nurture.objects.count() == PEOPLE
    assert OutreachMessage.objects.filter(step=0).count() == PEOPLE  # a losing insert left no message behind
    assert Activity.objects.filter(verb="nurture.suggested").count() == PEOPLE
    assert sorted(Nurture.objects.values_list("lead", flat=True)) == sorted(lead.pk for lead in leads)
    assert nurtures_suggest_week(now=now) == []
