"""POST /webhooks/unipile/: the secret, the limits, stored once per key, processed once by the worker."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead
from outreach.channels.base import ChannelUnavailable
from outreach.models import InboundMessage, OutreachMessage, SendingAccount, WebhookEvent
from outreach.replies import outreach_poll_replies
from outreach.webhooks import webhook_process
from tests.factories import LeadFactory, MessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db
URL = "/webhooks/unipile/"
SECRET = "hook-secret-1"
ACCOUNT_ID, OWN_ID = "acc-alice", "ACo-alice"
Health = SendingAccount.Health


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.UNIPILE_WEBHOOK_SECRET = SECRET
    settings.OPENAI_API_KEY = ""  # a reply's analysis runs on the offline template backend


@pytest.fixture
def li_account(alice) -> SendingAccount:
    return SendingAccountFactory(
        owner=alice,
        name="Alice LinkedIn",
        channel=SendingAccount.Channel.UNIPILE,
        provider_account_id=ACCOUNT_ID,
        provider_user_id=OWN_ID,
    )


@pytest.fixture
def lead(campaign, alice, li_account) -> Lead:
    campaign.sending_accounts.add(li_account)
    return LeadFactory(campaign=campaign, owner=alice, provider_id="ACo-lena", first_name="Lena")


def _post(client, payload, secret: str | None = SECRET, **extra):
    headers = {"X-Webhook-Secret": secret} if secret is not None else {}
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(URL, data=body, content_type="application/json", headers=headers, **extra)


def _received(message_id: str = "msg-42", sender: str = "ACo-lena", text: str = "Happy to talk next week") -> dict:
    return {
        "account_id": ACCOUNT_ID,
        "account_type": "LINKEDIN",
        "event": "message_received",
        "webhook_name": "replies",
        "chat_id": "chat-7",
        "message_id": message_id,
        "timestamp": "2025-03-04T10:15:00.000Z",
        "message": text,
        "sender": {
            "attendee_id": "att-1",
            "attendee_name": "Lena Park",
            "attendee_provider_id": sender,
            "attendee_profile_url": "https://www.linkedin.com/in/lena",
        },
        "attendees": [],
        "attachments": [],
        "reaction": None,
        "reaction_sender": None,
    }


def test_the_url_is_named():
    assert reverse("webhooks:unipile") == URL


def test_it_refuses_a_wrong_secret(client):
    response = _post(client, _received(), secret="nope")

    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


def test_it_refuses_a_missing_secret(client):
    assert _post(client, _received(), secret=None).status_code == 403
    assert not WebhookEvent.objects.exists()


def test_it_refuses_everything_while_no_secret_is_set(client, settings, caplog):
    settings.UNIPILE_WEBHOOK_SECRET = ""

    response = _post(client, _received(), secret="")

    assert response.status_code == 403
    assert "UNIPILE_WEBHOOK_SECRET is not set" in caplog.text
    assert not WebhookEvent.objects.exists()


def test_it_answers_only_post(client):
    response = client.get(URL, headers={"X-Webhook-Secret": SECRET})

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_it_rejects_a_body_that_is_not_json(client):
    response = _post(client, "{not json")

    assert response.status_code == 400
    assert response.content.startswith(b"The body is not JSON we can store")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 1000 + "]" * 1000, id="nested-1000-deep"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="nested-100000-deep"),
        pytest.param('{"event": "message_received", "a": ' + "[" * 40 + "]" * 40 + "}", id="nested-40-deep"),
        pytest.param('{"event": "message_received", "message": "hi\\u0000there"}', id="nul"),
        pytest.param('{"event": "message_received", "score": NaN}', id="nan"),
        pytest.param('{"event": "message_received", "score": -Infinity}', id="infinity"),
        pytest.param('{"event": "message_received", "message": "\\ud800"}', id="surrogate"),
        pytest.param('{"event": "message_received", "\\u0000": 1}', id="nul-key"),
    ],
)
def test_it_answers_400_to_json_that_cannot_be_stored(client, body):
    """Python parses these, PostgreSQL's jsonb refuses them: a 400 to the sender, never a 500 or a lost event."""
    response = _post(client, body)

    assert response.status_code == 400
    assert response.content.startswith(b"The body is not JSON we can store")
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("payload", [[1, 2], {"account_id": ACCOUNT_ID}, "3"])
def test_it_rejects_json_that_is_not_an_event(client, payload):
    response = _post(client, json.dumps(payload))

    assert response.status_code == 400
    assert response.content == b"Expected a JSON object with an event or status field."


def test_it_rejects_a_body_over_256_kb(client):
    payload = _received(text="x" * (256 * 1024))

    assert _post(client, payload).status_code == 413
    assert not WebhookEvent.objects.exists()


def test_it_needs_no_login_and_no_csrf_token(settings, lead):
    from django.test import Client

    response = _post(Client(enforce_csrf_checks=True), _received())

    assert response.status_code == 200


def test_a_message_is_stored_then_processed_into_one_reply(client, lead, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _post(client, _received())

    assert response.status_code == 200
    assert response.json() == {"stored": True, "event": "message_received"}
    assert len(callbacks) >= 1
    event = WebhookEvent.objects.get()
    assert (event.source, event.key, event.event) == ("unipile", "msg-42", "message_received")
    assert event.processed_at is not None and event.error == ""
    reply = InboundMessage.objects.get()
    assert (reply.lead, reply.provider_id, reply.text) == (lead, "unipile:msg-42", "Happy to talk next week")
    assert reply.received_at == dt.datetime(2025, 3, 4, 10, 15, tzinfo=dt.UTC)


def test_the_request_only_stores_and_queues(client, lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert _post(client, _received()).status_code == 200

    assert len(callbacks) == 1  # webhook_process_task, on commit
    assert WebhookEvent.objects.get().processed_at is None
    assert not InboundMessage.objects.exists()


def test_a_replayed_message_is_stored_once(client, lead, eager, django_capture_on_commit_callbacks):
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert _post(client, _received()).status_code == 200

    assert WebhookEvent.objects.count() == 1
    assert InboundMessage.objects.count() == 1


def test_a_replay_answers_200_and_queues_nothing(client, lead, django_capture_on_commit_callbacks):
    _post(client, _received())
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(client, _received())

    assert response.json() == {"stored": False, "event": "message_received"}
    assert callbacks == []


def test_processing_twice_acts_once(client, lead):
    _post(client, _received())
    event = WebhookEvent.objects.get()

    assert webhook_process(event_id=event.pk) == "stored"
    assert webhook_process(event_id=event.pk) == "already processed"
    assert InboundMessage.objects.count() == 1


def test_a_reply_seen_by_polling_then_by_webhook_is_stored_once(
    client, lead, li_account, fake_unipile, eager, django_capture_on_commit_callbacks
):
    message = fake_unipile.add_message(account_id=ACCOUNT_ID, sender_id="ACo-lena", text="Happy to talk next week")
    with django_capture_on_commit_callbacks(execute=True):
        assert outreach_poll_replies(account_id=li_account.pk) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, _received(message_id=message["id"])).status_code == 200

    assert InboundMessage.objects.get().provider_id == f"unipile:{message['id']}"
    assert WebhookEvent.objects.get().processed_at is not None


def test_our_own_message_is_not_a_reply(client, lead):
    _post(client, _received(sender=OWN_ID, text="Sent from my phone"))

    assert webhook_process(event_id=WebhookEvent.objects.get().pk) == "own message"
    assert not InboundMessage.objects.exists()


def test_it_learns_the_accounts_own_id_from_unipile_when_nobody_typed_it(client, lead, li_account, fake_unipile):
    """The id was filled by hand in admin, or our own sends came back as replies ("interested", answer queued)."""
    SendingAccount.objects.filter(pk=li_account.pk).update(provider_user_id="")
    fake_unipile.add_account(ACCOUNT_ID, user_id=OWN_ID)
    _post(client, _received(message_id="ours-1", sender=OWN_ID, text="Thanks for connecting, Lena!"))

    assert webhook_process(event_id=WebhookEvent.objects.get().pk) == "own message"

    assert not InboundMessage.objects.exists()
    assert Lead.objects.get(pk=lead.pk).status == lead.status
    li_account.refresh_from_db()
    assert li_account.provider_user_id == OWN_ID  # asked once, kept
    _post(client, _received(message_id="theirs-1", text="Happy to talk"))
    assert webhook_process(event_id=WebhookEvent.objects.latest("pk").pk) == "stored"
    assert len(fake_unipile.calls("GET", f"/api/v1/accounts/{ACCOUNT_ID}")) == 1


def test_it_reads_no_reply_while_it_cannot_tell_whose_message_it_is(client, lead, li_account, settings):
    """Unipile unreachable and the own id unknown: the event waits for a retry, nothing is read as a reply."""
    SendingAccount.objects.filter(pk=li_account.pk).update(provider_user_id="")
    settings.UNIPILE_DSN, settings.UNIPILE_API_KEY = "http://127.0.0.1:1", "key"  # nothing listens on port 1
    _post(client, _received(sender=OWN_ID, text="Thanks for connecting, Lena!"))
    event = WebhookEvent.objects.get()

    with pytest.raises(ChannelUnavailable):
        webhook_process(event_id=event.pk)

    event.refresh_from_db()
    assert event.processed_at is None and "ChannelUnavailable" in event.error  # retried later
    assert not InboundMessage.objects.exists()


def test_an_event_for_an_unknown_account_is_marked(client, lead):
    _post(client, {**_received(), "account_id": "acc-nobody"})
    event = WebhookEvent.objects.get()

    assert webhook_process(event_id=event.pk) == "unknown account"

    event.refresh_from_db()
    assert event.processed_at is not None
    assert event.error == "No LinkedIn sending account has Unipile account id 'acc-nobody'."
    assert not InboundMessage.objects.exists()


def test_other_events_are_stored_and_left_alone(client, lead):
    _post(client, {**_received(), "event": "message_read"})
    event = WebhookEvent.objects.get()

    assert event.key == "message_read:msg-42"
    assert webhook_process(event_id=event.pk) == "ignored"
    assert not InboundMessage.objects.exists()


def _relation(provider_id: str = "ACo-lena") -> dict:
    return {
        "event": "new_relation",
        "account_id": ACCOUNT_ID,
        "account_type": "LINKEDIN",
        "webhook_name": "relations",
        "timestamp": "2025-03-05T08:00:00.000Z",
        "user_provider_id": provider_id,
        "user_full_name": "Lena Park",
        "user_public_identifier": "lena",
        "user_profile_url": "https://www.linkedin.com/in/lena",
        "user_picture_url": "",
    }


def test_a_new_relation_accepts_the_sent_invitation(
    client, lead, li_account, eager, django_capture_on_commit_callbacks
):
    invite = MessageFactory(
        lead=lead,
        campaign=lead.campaign,
        account=li_account,
        kind=OutreachMessage.Kind.CONNECTION_NOTE,
        status=OutreachMessage.Status.SENT,
        sent_at=timezone.now() - dt.timedelta(days=3),
    )
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            _post(client, _relation())

    invite.refresh_from_db()
    assert invite.accepted_at == dt.datetime(2025, 3, 5, 8, 0, tzinfo=dt.UTC)
    assert WebhookEvent.objects.get().key == f"new_relation:{ACCOUNT_ID}:ACo-lena"


def _status(message: str, *, nested: bool = True, timestamp: str = "2025-03-05T09:00:00.000Z") -> dict:
    if nested:
        return {"AccountStatus": {"account_id": ACCOUNT_ID, "account_type": "LINKEDIN", "message": message}}
    return {"event": "account_status", "account_id": ACCOUNT_ID, "status": message, "timestamp": timestamp}


def test_credentials_pause_the_account_and_ok_resumes_it(client, li_account, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, _status("CREDENTIALS")).status_code == 200
    li_account.refresh_from_db()
    assert (li_account.health, li_account.paused_by_provider) == (Health.AUTH_ERROR, True)
    assert li_account.health_reason == "Unipile reports the account status CREDENTIALS."

    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, _status("OK", nested=False)).status_code == 200
    li_account.refresh_from_db()
    assert li_account.health == Health.OK
    keys = sorted(WebhookEvent.objects.values_list("key", flat=True))
    assert keys[0].startswith(f"account_status:{ACCOUNT_ID}:credentials:")  # no timestamp: the minute received
    assert keys[1] == f"account_status:{ACCOUNT_ID}:ok:2025-03-05T09:00:00.000Z"


def test_ok_never_lifts_a_pause_a_person_made(client, li_account, eager, django_capture_on_commit_callbacks):
    SendingAccount.objects.filter(pk=li_account.pk).update(health=Health.PAUSED, paused_by_provider=False)

    with django_capture_on_commit_callbacks(execute=True):
        _post(client, _status("OK"))

    li_account.refresh_from_db()
    assert li_account.health == Health.PAUSED


def test_the_command_points_unipile_at_us_once(fake_unipile, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.SITE_URL, settings.UNIPILE_WEBHOOK_SECRET = "https://sales.example.com", "s3cret-hook"
    out = StringIO()
    call_command("unipile_webhooks", stdout=out)
    assert "Registered messaging, users, account_status webhooks" in out.getvalue()
    hooks = {hook["source"]: hook for hook in fake_unipile.webhooks}
    assert set(hooks) == {"messaging", "users", "account_status"}
    assert {hook["request_url"] for hook in hooks.values()} == {"https://sales.example.com/webhooks/unipile/"}
    assert {"key": "X-Webhook-Secret", "value": "s3cret-hook"} in hooks["users"]["headers"]
    assert {"key": "Content-Type", "value": "application/json"} in hooks["messaging"]["headers"]
    assert hooks["messaging"]["events"] == ["message_received"]
    call_command("unipile_webhooks", stdout=out)  # a second run adds nothing
    assert len(fake_unipile.webhooks) == 3
    assert "nothing to do" in out.getvalue()


def test_the_command_refuses_without_a_secret(fake_unipile, settings):
    from django.core.management import CommandError, call_command

    settings.UNIPILE_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="UNIPILE_WEBHOOK_SECRET"):
        call_command("unipile_webhooks")
    assert fake_unipile.webhooks == []


def test_an_event_whose_processing_crashed_is_retried_later_and_then_stored_once(
    client, lead, monkeypatch, django_capture_on_commit_callbacks
):
    from outreach import webhooks
    from outreach.tasks import webhook_process_task

    with django_capture_on_commit_callbacks():  # the first task message is lost
        assert _post(client, _received()).status_code == 200
    event = WebhookEvent.objects.get()
    monkeypatch.setattr(webhooks, "inbound_record", lambda **kw: (_ for _ in ()).throw(RuntimeError("db blip")))
    with pytest.raises(RuntimeError):
        webhook_process(event_id=event.pk)
    event.refresh_from_db()
    assert (event.processed_at, event.error) == (None, "RuntimeError: db blip")
    monkeypatch.undo()

    queued = []
    monkeypatch.setattr(webhook_process_task, "delay", queued.append)
    now = event.received_at
    assert webhooks.webhooks_retry_unprocessed(now=now + dt.timedelta(minutes=5)) == 0  # still fresh
    assert webhooks.webhooks_retry_unprocessed(now=now + dt.timedelta(minutes=11)) == 1
    assert queued == [event.pk]
    webhook_process(event_id=event.pk)
    assert InboundMessage.objects.count() == 1
    assert webhooks.webhooks_retry_unprocessed(now=now + dt.timedelta(minutes=30)) == 0  # done now
