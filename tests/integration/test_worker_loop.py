"""The whole loop through a real Celery worker (not eager) with embedded beat, on PostgreSQL.

Sandbox leads are found, drafts appear pending, an approval over HTTP leads to exactly one
send, a simulated reply lands on the lead's timeline, and /healthz says ok while it runs.
"""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape
from django_celery_beat.models import PeriodicTask

from campaigns.services import campaign_start_pipeline
from leads.models import Activity, Lead
from outreach.models import InboundMessage, OutreachMessage
from outreach.tasks import outreach_poll_replies_task
from tests.factories import CampaignFactory, SendingAccountFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = OutreachMessage.Status


def _outbox_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _healthy(client) -> dict | None:
    response = client.get("/healthz")
    body = response.json()
    return body if response.status_code == 200 and body["status"] == "ok" else None


def test_it_runs_find_to_reply_through_a_real_worker(client, settings, alice, bob, celery_worker_process):
    account = SendingAccountFactory(owner=alice, name="Alice sandbox")  # open around the clock, no gap
    campaign = CampaignFactory(owner=bob, accounts=[account], daily_lead_quota=3)

    # Beat reads its schedule from the database. An interval entry first runs one interval after
    # it is loaded; an old last run makes the synced heartbeat entry due at once.
    call_command("sync_schedules", stdout=io.StringIO())
    PeriodicTask.objects.filter(name="heartbeat").update(last_run_at=timezone.now() - dt.timedelta(hours=1))
    assert client.get("/healthz").status_code == 503  # no heartbeat before a worker runs
    worker = celery_worker_process()

    with transaction.atomic():  # the chain is published when this commits
        campaign_start_pipeline(campaign=campaign, actor=bob)

    # Found, qualified, allocated to alice (the only rep with an account), drafted for her approval.
    allocated = wait_for(
        "leads to be found, qualified and allocated",
        lambda: Activity.objects.filter(verb="lead.allocated", campaign=campaign).count(),
    )
    drafts = wait_for(
        f"{allocated} drafts waiting for approval",
        lambda: (
            drafts
            if len(drafts := list(OutreachMessage.objects.filter(campaign=campaign, status=Status.PENDING_APPROVAL)))
            == allocated
            else None
        ),
    )
    assert Lead.objects.filter(campaign=campaign, source="sandbox").count() >= allocated
    assert {d.lead.owner_id for d in drafts} == {alice.pk}
    assert all(d.account_id == account.pk and d.body.startswith(f"Hi {d.lead.first_name}") for d in drafts)
    assert _outbox_lines(settings.SANDBOX_OUTBOX) == []  # nothing leaves before a human approves

    # alice approves one draft in the browser; the send is the worker's job.
    message = min(drafts, key=lambda d: d.pk)
    client.force_login(alice)
    response = client.post(f"/approvals/{message.pk}/approve/", {"revision": message.revision})
    assert response.status_code == 302

    wait_for(
        "the approved message to be sent",
        lambda: OutreachMessage.objects.filter(pk=message.pk, status=Status.SENT).exists(),
    )
    message.refresh_from_db()
    lines = _outbox_lines(settings.SANDBOX_OUTBOX)
    assert [line["key"] for line in lines] == [str(message.idempotency_key)]
    assert message.attempts == 1
    assert message.provider_message_id == f"sandbox-{message.idempotency_key}"
    assert Activity.objects.filter(verb="message.sent", message=message).count() == 1
    assert Activity.objects.filter(verb="message.sent").count() == 1
    others = OutreachMessage.objects.filter(campaign=campaign).exclude(pk=message.pk)
    assert set(others.values_list("status", flat=True)) <= {Status.PENDING_APPROVAL}

    # The simulated prospect always answers at once (SANDBOX_REPLY_RATE=1, no delay).
    outreach_poll_replies_task.delay(account.pk)
    wait_for(
        "the reply to land on the lead's timeline",
        lambda: Activity.objects.filter(verb="reply.received", lead=message.lead_id).exists(),
    )
    inbound = wait_for(
        "the reply to be analysed",
        lambda: InboundMessage.objects.filter(lead=message.lead_id).exclude(intent="").first(),
    )
    assert inbound.in_reply_to_id == message.pk
    assert inbound.provider_id == f"sandbox:{message.idempotency_key}:reply"
    assert Activity.objects.filter(verb="reply.analysed", lead=message.lead_id).count() == 1
    assert Lead.objects.get(pk=message.lead_id).status != Lead.Status.CONTACTED  # the reply moved it on
    page = client.get(f"/leads/{message.lead_id}/")
    assert page.status_code == 200
    assert "Reply received" in page.text
    assert escape(inbound.text) in page.text

    # Still exactly one delivery after the whole loop.
    assert len(_outbox_lines(settings.SANDBOX_OUTBOX)) == 1

    health = wait_for("/healthz to report ok (beat heartbeat through the worker)", lambda: _healthy(client))
    assert health["checks"] == {"database": "ok", "broker": "ok", "beat": "ok"}
    assert "Sending due task heartbeat (salesdept.tasks.heartbeat_task)" in worker.log_text()
