"""A campaign request through a real Celery worker (not eager), on PostgreSQL: a rep's words
are read by the worker, a manager approves over HTTP, and the worker finds, qualifies,
allocates and drafts until the rep's queue holds the new campaign's drafts."""

import pytest

from campaigns.models import Campaign, CampaignRequest
from leads.models import Lead
from outreach.models import OutreachMessage
from tests.factories import SendingAccountFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_request_becomes_a_running_campaign_through_a_real_worker(client, alice, bob, celery_worker_process):
    account = SendingAccountFactory(owner=alice, name="Alice sandbox")
    celery_worker_process(beat=False, OPENAI_API_KEY="")  # the offline template reads the request

    client.force_login(alice)
    response = client.post("/approvals/requests/new/", {"text": "Target 8 CFOs in fintech in London"})
    assert response.status_code == 302

    request = wait_for(
        "the worker to read the request",
        lambda: CampaignRequest.objects.filter(status=CampaignRequest.Status.PENDING).first(),
    )
    assert request.proposal["size"] == 8

    client.force_login(bob)
    prefix = f"r{request.pk}-"
    proposal = request.proposal
    response = client.post(
        f"/approvals/requests/{request.pk}/approve/",
        {
            prefix + "name": "London fintech CFOs",
            prefix + "titles": "\n".join(proposal["titles"]),
            prefix + "seniorities": proposal["seniorities"],
            prefix + "industries": "Fintech\nBanking",
            prefix + "locations": "\n".join(proposal["locations"]),
            prefix + "labels": "Speaker: Could speak\nOther: Not a clear fit",
            prefix + "offer": "A place on the stage of our London fintech summit, before 400 finance leaders.",
            prefix + "event": "the London Fintech Summit",
            prefix + "call_to_action": "Shall I send you the programme?",
            prefix + "size": "8",
            prefix + "lead_sources": ["sandbox"],
            prefix + "accounts": [account.pk],
        },
    )
    campaign = Campaign.objects.get(name="London fintech CFOs")
    assert response.status_code == 302 and campaign.status == Campaign.Status.ACTIVE

    drafts = wait_for(
        "the new campaign's drafts in alice's queue",
        lambda: OutreachMessage.objects.filter(
            campaign=campaign, status=OutreachMessage.Status.PENDING_APPROVAL, lead__owner=alice
        ).count(),
        timeout=90,
    )
    assert drafts >= 1
    assert Lead.objects.filter(campaign=campaign).count() <= 8  # the lead goal holds
    assert campaign.search_runs.get().status == "done"
