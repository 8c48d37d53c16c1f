"""Writes for outbound webhooks: endpoints added and removed, events turned into deliveries, replays."""

import secrets
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction

from hooks.models import Delivery, Endpoint, Event
from salesdept import clock

# Which active endpoint wants which event, read on every event: cached, forgotten on every change.
SUBSCRIPTIONS_KEY = "hooks:subscriptions:v1"
SUBSCRIPTIONS_TTL = 300


def _subscriptions() -> dict[str, list[int]]:
    found = cache.get(SUBSCRIPTIONS_KEY)
    if found is None:
        found = {}
        for pk, events in Endpoint.objects.filter(is_active=True).values_list("pk", "events"):
            for event in events:
                found.setdefault(event, []).append(pk)
        cache.set(SUBSCRIPTIONS_KEY, found, SUBSCRIPTIONS_TTL)
    return found


def _forget_subscriptions() -> None:
    transaction.on_commit(lambda: cache.delete(SUBSCRIPTIONS_KEY))
    cache.delete(SUBSCRIPTIONS_KEY)


def event_emit(*, event: str, data: Callable[[], dict]) -> list[int]:
    """One delivery per endpoint that wants `event`, sent once the caller's transaction commits.

    `data` is called only when someone listens: most installs have no endpoint, and then an
    event costs a cache read and nothing else.
    """
    endpoint_ids = _subscriptions().get(event)
    if not endpoint_ids:
        return []
    now = clock.now()
    event_id = uuid.uuid4()
    body = {"id": str(event_id), "type": event, "created_at": now.isoformat(), "data": data()}
    rows = Delivery.objects.bulk_create(
        Delivery(event_id=event_id, event=event, endpoint_id=pk, payload=body, created_at=now, next_attempt_at=now)
        for pk in endpoint_ids
    )
    _send_on_commit([row.pk for row in rows])
    return [row.pk for row in rows]


def _send_on_commit(delivery_ids: list[int]) -> None:
    from hooks.tasks import delivery_attempt_task

    for pk in delivery_ids:
        delivery_attempt_task.delay_on_commit(pk)


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


@transaction.atomic
def endpoint_create(*, actor, url: str, events: list[str], description: str = "") -> tuple[Endpoint, str]:
    """The endpoint and its signing secret: the caller shows the secret once, it is never shown again."""
    secret = new_secret()
    endpoint = Endpoint.objects.create(
        url=url, events=sorted(events), description=description, secret=secret, created_by=actor, created_at=clock.now()
    )
    _forget_subscriptions()
    return endpoint, secret


@transaction.atomic
def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Gone with its delivery log: nothing more is sent to it."""
    endpoint.delete()
    _forget_subscriptions()


@transaction.atomic
def delivery_replay(*, delivery: Delivery) -> Delivery:
    """The same event (same id, same body) delivered once more, as a new row of the log."""
    now = clock.now()
    replay = Delivery.objects.create(
        event_id=delivery.event_id,
        event=delivery.event,
        endpoint_id=delivery.endpoint_id,
        payload=delivery.payload,
        replay_of=delivery,
        created_at=now,
        next_attempt_at=now,
    )
    _send_on_commit([replay.pk])
    return replay


def deliveries_scrub_lead(*, lead_id: int) -> int:
    """An erased person's details leave the delivery log (and any replay of it); the event's ids stay."""
    rows = list(Delivery.objects.filter(event=Event.LEAD_CREATED, payload__data__id=lead_id).only("pk", "payload"))
    for row in rows:
        row.payload = {**row.payload, "data": {"id": lead_id, "erased": True}}
    Delivery.objects.bulk_update(rows, ["payload"], batch_size=500)
    return len(rows)
