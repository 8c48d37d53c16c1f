"""Unipile webhooks (providers.md §1.8): stored once per key in the request, acted on by a worker.

The request only checks the shared secret, stores the raw event and answers 200: no provider or
LLM call, so Unipile's 30-second deadline is never at risk. A replay (Unipile retries up to five
times) finds the stored key and does nothing more. The worker's processing is idempotent too.
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from outreach.accounts import account_health_from_provider, account_own_id
from outreach.channels.base import InboundItem
from outreach.channels.unipile import parse_time
from outreach.invitations import invitation_accepted
from outreach.linkedin import NotifyRefused, linkedin_notify
from outreach.models import SendingAccount, WebhookEvent
from outreach.replies import inbound_record
from salesdept import clock
from salesdept.jsonbody import json_load_strict

log = logging.getLogger(__name__)
SOURCE = "unipile"
MAX_BODY = 256 * 1024
ACCOUNT_STATUS = "account_status"
# Unipile's account_status messages, for payloads that name them as the event.
ACCOUNT_STATUSES = {
    "creation_success",
    "creation_fail",
    "deleted",
    "reconnected",
    "sync_success",
    "stopped",
    "ok",
    "connecting",
    "error",
    "credentials",
    "permissions",
}


@csrf_exempt
@login_not_required
@require_POST
def unipile_webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.UNIPILE_WEBHOOK_SECRET
    if not secret:
        log.error("Unipile webhook refused: UNIPILE_WEBHOOK_SECRET is not set")
        return HttpResponseForbidden("Webhooks are switched off: UNIPILE_WEBHOOK_SECRET is not set.")
    given = request.headers.get("X-Webhook-Secret", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("Unipile webhook refused: wrong or missing X-Webhook-Secret")
        return HttpResponseForbidden("Wrong or missing X-Webhook-Secret.")
    body = request.read(MAX_BODY + 1)  # never more than the limit in memory
    if len(body) > MAX_BODY:
        return HttpResponse("The body is larger than 256 KB.", status=413)
    try:
        payload = json_load_strict(body)
    except ValueError as exc:
        return HttpResponseBadRequest(f"The body is not JSON we can store: {exc}.")
    if not isinstance(payload, dict) or not ({"event", "status", "AccountStatus"} & payload.keys()):
        return HttpResponseBadRequest("Expected a JSON object with an event or status field.")
    event, created = webhook_receive(payload=payload)
    return JsonResponse({"stored": created, "event": event.event})


@csrf_exempt
@login_not_required
@require_POST
def linkedin_notify_view(request: HttpRequest, link_id: uuid.UUID, token: str) -> HttpResponse:
    """Unipile's call after a rep signed in on its hosted page: the link's secret is in the URL."""
    body = request.read(MAX_BODY + 1)
    try:
        payload = json_load_strict(body) if len(body) <= MAX_BODY else None
    except ValueError:
        payload = None
    payload = payload if isinstance(payload, dict) else {}  # the secret is checked first; {} then names no link
    try:
        result = linkedin_notify(link_id=link_id, secret=token, payload=payload)
    except NotifyRefused as exc:
        log.warning("LinkedIn notify refused for link %s: %s", link_id, exc)  # never the token
        return HttpResponseForbidden("This link cannot connect an account.")
    return JsonResponse({"outcome": result.outcome})


def _account_status(payload: dict[str, Any]) -> tuple[str, str, str] | None:
    """(account id, status, timestamp) of an account status payload, nested or flat; None for other events."""
    nested = payload.get("AccountStatus")
    if isinstance(nested, dict):
        status = nested.get("message") or nested.get("status") or ""
        return str(nested.get("account_id") or ""), str(status), str(nested.get("timestamp") or "")
    event = str(payload.get("event") or "").lower()
    if event == ACCOUNT_STATUS or (not event and payload.get("status")):
        status = payload.get("status") or payload.get("message") or ""
        return str(payload.get("account_id") or ""), str(status), str(payload.get("timestamp") or "")
    if event in ACCOUNT_STATUSES:
        return str(payload.get("account_id") or ""), event, str(payload.get("timestamp") or "")
    return None


def webhook_key(payload: dict[str, Any]) -> tuple[str, str]:
    """(event name, dedupe key) of a payload; the same delivery always gives the same key."""
    if status := _account_status(payload):
        account_id, state, timestamp = status
        # Without a timestamp, retries within the same minute collapse; applying a status twice is harmless.
        timestamp = timestamp or clock.now().strftime("%Y-%m-%dT%H:%M")
        return ACCOUNT_STATUS, _fit(f"account_status:{account_id}:{state.lower()}:{timestamp}")
    event = str(payload.get("event") or "unknown")[:50]
    if event == "new_relation":
        return event, _fit(f"new_relation:{payload.get('account_id')}:{payload.get('user_provider_id')}")
    if message_id := payload.get("message_id"):
        # Read receipts, reactions and edits name the same message: only the reception owns the bare id.
        return event, _fit(str(message_id) if event == "message_received" else f"{event}:{message_id}")
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return event, f"{event}:{digest}"


def _fit(key: str) -> str:
    return key if len(key) <= 300 else f"sha256:{hashlib.sha256(key.encode()).hexdigest()}"


@transaction.atomic
def webhook_receive(*, payload: dict[str, Any]) -> tuple[WebhookEvent, bool]:
    """Store an event once per key and queue its processing. False: a replay, nothing done."""
    from outreach.tasks import webhook_process_task

    event_name, key = webhook_key(payload)
    event, created = WebhookEvent.objects.get_or_create(
        source=SOURCE, key=key, defaults={"event": event_name, "payload": payload}
    )
    if created:
        webhook_process_task.delay_on_commit(event.pk)
    else:
        log.info("unipile webhook %s replayed; ignored", key)
    return event, created


def webhook_process(*, event_id: int) -> str:
    """Act on a stored event, once: the claim and the work commit together, or neither does."""
    try:
        with transaction.atomic():
            if not WebhookEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(processed_at=clock.now()):
                return "already processed"
            event = WebhookEvent.objects.get(pk=event_id)
            outcome, error = _act(event)
            if error:
                WebhookEvent.objects.filter(pk=event_id).update(error=error)
            return outcome
    except Exception as exc:
        # Left unprocessed (rolled back) with the reason, for a person or a later run to retry.
        WebhookEvent.objects.filter(pk=event_id).update(error=f"{type(exc).__name__}: {exc}"[:2000])
        raise


def _act(event: WebhookEvent) -> tuple[str, str]:
    """What the event does; returns (outcome, error to record)."""
    payload = event.payload
    if event.event not in ("message_received", "new_relation", ACCOUNT_STATUS):
        return "ignored", ""
    status = _account_status(payload) if event.event == ACCOUNT_STATUS else None
    account_id = status[0] if status else str(payload.get("account_id") or "")
    account = SendingAccount.objects.filter(
        channel=SendingAccount.Channel.UNIPILE, provider_account_id=account_id
    ).first()
    if not account_id or account is None:
        return "unknown account", f"No LinkedIn sending account has Unipile account id {account_id!r}."
    if status:
        state = status[1]
        detail = f"Unipile reports the account status {state.upper()}."
        return account_health_from_provider(account=account, status=state, detail=detail), ""
    if event.event == "new_relation":
        at = parse_time(payload.get("timestamp")) or event.received_at
        provider_id = str(payload.get("user_provider_id") or "")
        accepted = invitation_accepted(account=account, provider_id=provider_id, at=at)
        return ("accepted" if accepted else "no open invitation"), ""
    return _message_received(account, payload)


def _message_received(account: SendingAccount, payload: dict[str, Any]) -> tuple[str, str]:
    if not payload.get("message_id"):
        return "ignored", "A message_received event without a message_id."
    sender = payload.get("sender") if isinstance(payload.get("sender"), dict) else {}
    sender_id = str(sender.get("attendee_provider_id") or "")
    if _sent_by_account(account, payload, sender_id):
        return "own message", ""  # a send from the rep's phone, or ours
    item = InboundItem(
        provider_id=f"unipile:{payload['message_id']}",  # what polling stores too: one reply, one row
        sender_provider_id=sender_id,
        text=str(payload.get("message") or ""),
        received_at=parse_time(payload.get("timestamp")) or clock.now(),
        chat_id=str(payload.get("chat_id") or ""),
    )
    return ("stored" if inbound_record(account=account, item=item) else "duplicate or no lead"), ""


def _sent_by_account(account: SendingAccount, payload: dict[str, Any], sender_id: str) -> bool:
    """Whether the account itself wrote the message, by every signal Unipile gives, cheapest first.

    `is_sender` when the payload carries it (message objects always do); the account's own member
    id that Unipile puts in `account_info.user_id`; last, the own id learnt at connect (asked of
    Unipile if nobody has it yet, and raising rather than guessing when it cannot be asked).
    """
    if payload.get("is_sender") in (True, 1, "1", "true"):
        return True
    info = payload.get("account_info") if isinstance(payload.get("account_info"), dict) else {}
    if sender_id and sender_id == str(info.get("user_id") or ""):
        return True
    return sender_id == account_own_id(account=account)


# An event still unprocessed this long after it arrived lost its task or crashed: run it again,
# for a while (a crash that repeats for days needs a person; the error is on the event).
RETRY_AFTER = dt.timedelta(minutes=10)
RETRY_FOR = dt.timedelta(days=2)


def webhooks_retry_unprocessed(*, now: dt.datetime) -> int:
    """Queue again the events no worker finished: a lost task message or a crash mid-way."""
    from outreach.tasks import webhook_process_task

    stale = WebhookEvent.objects.filter(
        processed_at__isnull=True, received_at__lt=now - RETRY_AFTER, received_at__gt=now - RETRY_FOR
    ).values_list("pk", flat=True)
    ids = list(stale[:500])
    for event_id in ids:
        webhook_process_task.delay(event_id)
    return len(ids)
