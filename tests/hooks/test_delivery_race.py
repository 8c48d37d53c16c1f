"""Exactly one worker claims a delivery's attempt, however many try at once (PostgreSQL, real connections)."""

import pytest

from hooks.delivery import delivery_attempt, delivery_claim
from hooks.models import Delivery, Endpoint
from hooks.services import new_secret
from salesdept import clock
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.integration.test_concurrency import THREADS, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def due_delivery(url: str, secret: str) -> Delivery:
    now = clock.now()
    endpoint = Endpoint.objects.create(url=url, events=["lead.created"], secret=secret, created_at=now)
    body = {"id": "e", "type": "lead.created", "data": {"id": 1}}
    return Delivery.objects.create(
        event="lead.created", endpoint=endpoint, payload=body, created_at=now, next_attempt_at=now
    )


def test_it_lets_one_claim_of_an_attempt_win():
    delivery = due_delivery("https://hooks.example.com/in", new_secret())
    now = clock.now()

    claims = run_together(THREADS, lambda _: delivery_claim(delivery.pk, now=now))

    assert claims.count(True) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_it_posts_once_when_workers_race_for_the_same_delivery(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    secret = new_secret()
    with WebhookReceiver(secret) as receiver:
        delivery = due_delivery(receiver.url, secret)

        results = run_together(THREADS, lambda _: delivery_attempt(delivery_id=delivery.pk))

    assert results.count(True) == 1 and len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
