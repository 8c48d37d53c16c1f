"""Sending one delivery: claimed once, signed, posted to a checked address, retried with backoff for a day.

The signature is Stripe's scheme: header `X-SalesDept-Signature: t=<unix time>,v1=<hex>` where
hex is HMAC-SHA256(secret, f"{t}.{body}"). A receiver recomputes it over the raw body and
refuses an old `t` (a replayed capture). The event id (`X-SalesDept-Event-Id`, and "id" in the
body) is the same on every attempt and replay, so the receiver can drop what it has seen.
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db.models import F

from hooks.models import Delivery
from salesdept import clock
from salesdept.outbound import AddressRefused, PinnedAdapter, checked_address

log = logging.getLogger(__name__)

USER_AGENT = "SalesDepartment-Webhooks/1.0"
TIMEOUT_SECONDS = 10
RETRY_FOR = dt.timedelta(days=1)
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_WAIT = dt.timedelta(hours=4)
# A claimed attempt whose worker died becomes due again after this (longer than any attempt takes).
CLAIM_LEASE = dt.timedelta(minutes=2)


def body_bytes(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def retry_wait(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8… minutes after the 1st, 2nd, 3rd… failed attempt, at most LONGEST_WAIT."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    response_code: int | None = None
    error: str = ""
    retry: bool = True  # False: trying again cannot help (the address is refused)


def delivery_claim(delivery_id: int, *, now: dt.datetime) -> bool:
    """Take the due attempt: a conditional UPDATE, so of two workers one gets it and the other 0 rows."""
    return bool(
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now).update(
            attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=now + CLAIM_LEASE
        )
    )


def delivery_attempt(*, delivery_id: int) -> bool:
    """Send the delivery if it is due and this worker claims it; True when the receiver took it."""
    now = clock.now()
    if not delivery_claim(delivery_id, now=now):
        return False
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    outcome = _post(delivery, now=now)
    _record(delivery, outcome, now=now)
    return outcome.delivered


def _post(delivery: Delivery, *, now: dt.datetime) -> Outcome:
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return Outcome(delivered=False, error="The endpoint is switched off.", retry=False)
    body = body_bytes(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-SalesDept-Event": delivery.event,
        "X-SalesDept-Event-Id": str(delivery.event_id),
        "X-SalesDept-Delivery": str(delivery.pk),
        "X-SalesDept-Signature": signature(endpoint.secret, int(now.timestamp()), body),
    }
    try:
        address = checked_address(endpoint.url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE)
    except AddressRefused as exc:
        # A refused address or scheme stays refused; a name that does not resolve may resolve later.
        return Outcome(delivered=False, error=str(exc)[:300], retry="does not resolve" in str(exc))
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: the address checked is the one reached
        adapter = PinnedAdapter(address)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        try:
            timeout = (TIMEOUT_SECONDS, TIMEOUT_SECONDS)
            response = session.post(
                endpoint.url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
            )
        except requests.RequestException as exc:
            return Outcome(delivered=False, error=f"No answer: {type(exc).__name__}.")
    response.close()  # the answer's body is never read (stream=True): a huge or slow one costs nothing
    if 200 <= response.status_code < 300:
        return Outcome(delivered=True, response_code=response.status_code)
    return Outcome(delivered=False, response_code=response.status_code, error=f"HTTP {response.status_code}")


def _record(delivery: Delivery, outcome: Outcome, *, now: dt.datetime) -> None:
    fields = {"response_code": outcome.response_code, "error": outcome.error}
    if outcome.delivered:
        fields |= {"status": Delivery.Status.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    else:
        next_at = now + retry_wait(delivery.attempts)
        if outcome.retry and next_at <= delivery.created_at + RETRY_FOR:
            fields |= {"next_attempt_at": next_at}
        else:
            fields |= {"status": Delivery.Status.FAILED, "next_attempt_at": None}
        log.warning(
            "webhook delivery %s to endpoint %s failed (attempt %s): %s",
            delivery.pk,
            delivery.endpoint_id,
            delivery.attempts,
            outcome.error,
        )
    Delivery.objects.filter(pk=delivery.pk).update(**fields)


def deliveries_due(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """The pending deliveries whose attempt is due (first tries whose task was lost, and retries)."""
    rows = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    return list(rows.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
