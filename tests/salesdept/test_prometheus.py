"""/metrics: what Prometheus reads, who may read it, and that it names nobody."""

import datetime as dt
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from salesdept import clock
from salesdept.models import LLMCall
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-1234567890"


def samples(text: str) -> dict[tuple, float]:
    """(sample name, sorted labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
def work(campaign, alice, alice_account):
    """A day's work: sends, a failure, a reply, model calls, drafts waiting, a stopped account."""
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Zuzanna", last_name="Kowalczyk")
    lead.email = "zuzanna@example.org"
    lead.save(update_fields=["email"])
    sent = MessageFactory(lead=lead, account=alice_account, status=OutreachMessage.Status.SENT, body="Hi Zuzanna")
    MessageFactory(lead=lead, account=alice_account, step=2, status=OutreachMessage.Status.FAILED)
    for step in (3, 4):
        MessageFactory(lead=lead, account=alice_account, step=step)  # waiting for approval
    OutreachMessage.objects.filter(status="pending_approval").update(created_at=clock.now() - dt.timedelta(hours=5))
    InboundMessage.objects.create(
        lead=lead, account=alice_account, in_reply_to=sent, provider_id="in-1", text="Yes, Zuzanna here",
        received_at=clock.now(), intent="interested",
    )  # fmt: skip
    for purpose, tokens in (("draft", 100), ("draft", 50), ("qualify", 10)):
        LLMCall.objects.create(
            purpose=purpose, backend="openai", model="gpt-4o-mini", prompt_version="v1", tokens_in=tokens,
            tokens_out=tokens // 2, cost_usd=Decimal("0.001"),
        )  # fmt: skip
    SendingAccount.objects.filter(pk=alice_account.pk).update(health=SendingAccount.Health.AUTH_ERROR)
    return lead


def test_a_scrape_from_this_machine_shows_the_work_and_names_nobody(client, work, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):  # one grouped query per subject (and the budget's two), whatever the volume
        response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    found = samples(text)
    assert found[("salesdept_messages", (("channel", "sandbox"), ("status", "sent")))] == 1
    assert found[("salesdept_messages", (("channel", "sandbox"), ("status", "failed")))] == 1
    assert found[("salesdept_replies_total", (("intent", "interested"),))] == 1
    assert found[("salesdept_llm_calls_total", (("outcome", "ok"), ("purpose", "draft")))] == 2
    assert found[("salesdept_llm_tokens_total", (("direction", "in"), ("purpose", "draft")))] == 150
    assert found[("salesdept_llm_cost_usd_total", (("purpose", "qualify"),))] == pytest.approx(0.001)
    assert found[("salesdept_approval_backlog", ())] == 2
    assert found[("salesdept_approval_oldest_age_seconds", ())] == pytest.approx(5 * 3600, abs=60)
    assert found[("salesdept_accounts", (("channel", "sandbox"), ("health", "auth_error")))] == 1
    for personal in ("Zuzanna", "Kowalczyk", "zuzanna@example.org", "Hi Zuzanna", "alice@example.com"):
        assert personal not in text


def test_requests_are_counted_by_view_and_status_never_by_path(client, alice):
    client.force_login(alice)
    client.get("/leads/")
    client.get("/leads/999999/")  # a lead that does not exist: 404

    found = samples(client.get("/metrics").content.decode())

    assert (
        found[
            (
                "salesdept_http_request_duration_seconds_count",
                (("method", "GET"), ("status", "200"), ("view", "leads:list")),
            )
        ]
        >= 1
    )
    assert (
        found[
            (
                "salesdept_http_request_duration_seconds_count",
                (("method", "GET"), ("status", "404"), ("view", "leads:detail")),
            )
        ]
        >= 1
    )
    assert not any("999999" in str(labels) for _, labels in found)


def test_from_elsewhere_it_needs_the_token(client, work, settings):
    settings.METRICS_TOKEN = TOKEN
    elsewhere = {"REMOTE_ADDR": "203.0.113.7"}

    assert client.get("/metrics", **elsewhere).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **elsewhere).status_code == 403
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **elsewhere)
    assert response.status_code == 200
    assert b"salesdept_approval_backlog 2.0" in response.content


def test_without_a_token_only_the_allowed_networks_may_scrape(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ", REMOTE_ADDR="203.0.113.7").status_code == 403


def test_a_broker_that_does_not_answer_is_reported_not_raised(client, monkeypatch):
    from salesdept.celery import app

    assert samples(client.get("/metrics").content.decode())[("salesdept_celery_broker_up", ())] == 1
    monkeypatch.setattr(app.conf, "broker_read_url", "redis://127.0.0.1:9/0")  # nothing listens there

    response = client.get("/metrics")

    assert response.status_code == 200
    assert samples(response.content.decode())[("salesdept_celery_broker_up", ())] == 0
