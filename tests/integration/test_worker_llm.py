"""A real worker drafts through the model: real HTTP from the worker process to a local fake server."""

import json
import re

import pytest
from django.db import transaction

from campaigns.services import campaign_start_pipeline
from outreach.models import OutreachMessage
from salesdept.models import LLMCall
from tests.factories import CampaignFactory, LeadFactory, SendingAccountFactory
from tests.fakes.openai_server import FakeOpenAI, json_reply
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def model(body):
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    if "qualify B2B prospects" in system:
        return json_reply({"label": "Speaker", "confidence": 0.9, "insight": "Speaks on payments"})
    if "check a sales message" in system:
        return json_reply({"unsupported_claims": []})
    lead = json.loads(re.search(r"Prospect:\n<data>(.*?)</data>", user, re.S).group(1))
    return json_reply(
        {
            "greeting_name": lead["first_name"],
            "subject": "",
            "body": f"Hi {lead['first_name']}, shall we connect?",
            "facts_used": [],
        }
    )


def test_the_worker_qualifies_and_drafts_through_the_model(bob, alice, fake_openai, celery_worker_process):
    fake_openai.default = model
    account = SendingAccountFactory(owner=alice)
    campaign = CampaignFactory(owner=bob, accounts=[account], daily_lead_quota=3)
    celery_worker_process(OPENAI_API_KEY="test-key", LLM_BASE_URL=fake_openai.base_url)
    with transaction.atomic():
        campaign_start_pipeline(campaign=campaign, actor=bob)
    drafts = wait_for(
        "drafts written by the model",
        lambda: list(OutreachMessage.objects.filter(campaign=campaign, generated_by="gpt-4o-mini")),
    )
    assert all(d.status == "pending_approval" and d.body.endswith("shall we connect?") for d in drafts)
    assert LLMCall.objects.filter(purpose="qualify", outcome="ok", campaign=campaign).exists()
    wait_for(
        "the fact check of every draft",
        lambda: LLMCall.objects.filter(purpose="fact_check", outcome="ok").count() >= len(drafts),
    )
    assert all(r["headers"]["authorization"] == "Bearer test-key" for r in fake_openai.requests)


def test_a_worker_of_two_processes_sends_a_one_at_a_time_server_one_call_at_a_time(
    settings, campaign, alice, celery_worker_process
):
    """`make run`'s worker against llama.cpp on this machine: two tasks draft side by side, and the
    server's limit (LLM_LOCAL_CONCURRENCY=1) holds for both processes together."""
    from outreach.services import messages_draft_enqueue
    from salesdept.llm import client

    with FakeOpenAI(llama_cpp=True, delay=0.2, default=model) as llama:
        settings.OPENAI_API_KEY, settings.LLM_BASE_URL = "test-key", llama.base_url
        client.reset()  # this process sizes the tasks as the worker would: a local server, one call at a time
        celery_worker_process(
            beat=False,
            concurrency=2,
            OPENAI_API_KEY="test-key",
            LLM_BASE_URL=llama.base_url,
            LLM_STRUCTURED_MODE="json_object",
        )
        leads = [LeadFactory(campaign=campaign, owner=alice, status="qualified").pk for _ in range(8)]
        messages_draft_enqueue(lead_ids=leads)  # two tasks of four

        drafted = OutreachMessage.objects.filter(lead__in=leads, generated_by="gpt-4o-mini", status="pending_approval")
        wait_for("every draft written by the model", lambda: drafted.count() == len(leads))

        assert llama.count == 16 and llama.max_in_flight == 1  # a draft and its fact check each, never two at once
        client.reset()
