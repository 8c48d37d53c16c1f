"""The Unipile adapter against a fake Unipile over real HTTP, and both against Unipile's OpenAPI contract."""

import datetime as dt
import logging
import re
import socket
from pathlib import Path

import pytest
import requests
import yaml
from django.conf import settings as django_settings
from django.utils import timezone

from competitors.models import Competitor, CompetitorPost
from competitors.readers import UnipileReader
from leads.sources.base import SearchQuery
from leads.sources.unipile import UnipileSource
from outreach.channels import unipile
from outreach.channels.base import ChannelError, ChannelUnavailable, SendOutcomeUnknown
from outreach.channels.unipile import UnipileChannel, UnipileClient
from outreach.invitations import relations_poll
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from outreach.replies import outreach_poll_replies
from presence.unipile import UnipilePosts
from salesdept.teamconfig import UnipileConfig
from tests.factories import LeadFactory, MessageFactory, SendingAccountFactory
from tests.fakes import unipile_server
from tests.fakes.unipile_server import FakeUnipile
from tests.presence.conftest import PostFactory

pytestmark = pytest.mark.django_db
Kind, Status = OutreachMessage.Kind, OutreachMessage.Status
ACCOUNT_ID, OWN_ID = "acc-alice", "ACo-alice"


@pytest.fixture
def li_account(alice, fake_unipile: FakeUnipile) -> SendingAccount:
    fake_unipile.add_account(ACCOUNT_ID, user_id=OWN_ID)
    return SendingAccountFactory(
        owner=alice,
        name="Alice LinkedIn",
        channel=SendingAccount.Channel.UNIPILE,
        provider_account_id=ACCOUNT_ID,
        provider_user_id=OWN_ID,
    )


@pytest.fixture
def li_campaign(campaign, li_account):
    campaign.sending_accounts.add(li_account)
    return campaign


def _message(li_campaign, li_account, *, provider_id="ACo-lena", kind=Kind.CONNECTION_NOTE, **kw) -> OutreachMessage:
    lead = LeadFactory(campaign=li_campaign, provider_id=provider_id, first_name="Lena")
    return MessageFactory(lead=lead, campaign=li_campaign, account=li_account, kind=kind, status=Status.SENDING, **kw)


def test_it_sends_an_invitation_with_its_note(fake_unipile, li_campaign, li_account):
    fake_unipile.usage = 75
    message = _message(li_campaign, li_account, body="Hi Lena, glad to connect about the Summit.")

    result = UnipileChannel().send(message)

    assert result.error is None
    assert result.provider_message_id == fake_unipile.invites[0]["id"]
    assert result.quota_used_pct == 75
    (request,) = fake_unipile.calls("POST", "/api/v1/users/invite")
    assert request["json"] == {
        "provider_id": "ACo-lena",
        "account_id": ACCOUNT_ID,
        "message": "Hi Lena, glad to connect about the Summit.",
    }
    assert request["content_type"] == "application/json"
    assert request["headers"]["x-api-key"] == fake_unipile.api_key


def test_it_starts_a_chat_for_a_first_message(fake_unipile, li_campaign, li_account):
    message = _message(li_campaign, li_account, kind=Kind.MESSAGE, body="Thanks for connecting, Lena.")

    result = UnipileChannel().send(message)

    (request,) = fake_unipile.calls("POST", "/api/v1/chats")
    assert request["content_type"].startswith("multipart/form-data; boundary=")
    assert request["form"] == {
        "account_id": ACCOUNT_ID,
        "attendees_ids": "ACo-lena",
        "text": "Thanks for connecting, Lena.",
        "linkedin[api]": "classic",
    }
    assert result.error is None
    assert result.chat_id in fake_unipile.chats
    assert result.provider_message_id == fake_unipile.messages[-1]["id"]


def test_it_writes_into_the_chat_it_knows(fake_unipile, li_campaign, li_account):
    first = UnipileChannel().send(_message(li_campaign, li_account, kind=Kind.MESSAGE, body="First."))
    message = _message(li_campaign, li_account, kind=Kind.MESSAGE, body="Second.", chat_id=first.chat_id)

    result = UnipileChannel().send(message)

    (request,) = fake_unipile.calls("POST", f"/api/v1/chats/{first.chat_id}/messages")
    assert request["content_type"].startswith("multipart/form-data")
    assert request["form"] == {"text": "Second.", "account_id": ACCOUNT_ID}
    assert (result.error, result.chat_id) == (None, first.chat_id)
    assert result.provider_message_id == fake_unipile.messages[-1]["id"]


def test_it_finds_the_chat_of_the_last_message_sent_to_the_lead(fake_unipile, li_campaign, li_account):
    first = _message(li_campaign, li_account, kind=Kind.MESSAGE, body="First.")
    result = UnipileChannel().send(first)
    OutreachMessage.objects.filter(pk=first.pk).update(
        status=Status.SENT, sent_at=timezone.now(), chat_id=result.chat_id
    )
    follow_up = MessageFactory(
        lead=first.lead, campaign=li_campaign, account=li_account, kind=Kind.MESSAGE, step=2, body="Following up."
    )

    assert UnipileChannel().send(follow_up).chat_id == result.chat_id
    assert len(fake_unipile.calls("POST", "/api/v1/chats")) == 1
    assert len(fake_unipile.calls("POST", f"/api/v1/chats/{result.chat_id}/messages")) == 1


def test_it_sends_an_inmail_with_its_subject(fake_unipile, li_campaign, li_account):
    message = _message(li_campaign, li_account, kind=Kind.INMAIL, subject="The Summit", body="Hello Lena.")

    result = UnipileChannel().send(message)

    (request,) = fake_unipile.calls("POST", "/api/v1/chats")
    assert request["form"] == {
        "account_id": ACCOUNT_ID,
        "attendees_ids": "ACo-lena",
        "text": "Hello Lena.",
        "linkedin[inmail]": "true",
        "subject": "The Summit",
    }
    assert result.error is None and result.chat_id


ROWS = [
    ("ACo-disconnected", ChannelError.ACCOUNT_DISCONNECTED, "errors/disconnected_account"),
    ("ACo-expired", ChannelError.ACCOUNT_DISCONNECTED, "errors/expired_credentials"),
    ("ACo-checkpoint", ChannelError.ACCOUNT_DISCONNECTED, "errors/checkpoint_error"),
    ("ACo-restricted", ChannelError.ACCOUNT_RESTRICTED, "errors/account_restricted"),
    ("ACo-feature", ChannelError.ACCOUNT_RESTRICTED, "errors/feature_not_subscribed"),
    ("ACo-permissions", ChannelError.ACCOUNT_RESTRICTED, "errors/insufficient_permissions"),
    ("ACo-already-invited", ChannelError.DUPLICATE, "errors/already_invited_recently"),
    ("ACo-cannot-resend", ChannelError.DUPLICATE, "errors/cannot_resend_yet"),
    ("ACo-resend-24h", ChannelError.DUPLICATE, "errors/cannot_resend_within_24hrs"),
    ("ACo-limit", ChannelError.RATE_LIMITED, "errors/limit_exceeded"),
    ("ACo-429", ChannelError.RATE_LIMITED, "errors/too_many_requests"),
    ("ACo-no-connection", ChannelError.NOT_CONNECTED, "errors/no_connection_with_recipient"),
    ("ACo-no-inmail", ChannelError.NOT_CONNECTED, "errors/not_allowed_inmail"),
    ("ACo-no-credits", ChannelError.NOT_CONNECTED, "errors/insufficient_credits"),
    ("ACo-cannot-invite", ChannelError.NOT_CONNECTED, "errors/cannot_invite_attendee"),
    ("ACo-blocked", ChannelError.NOT_CONNECTED, "errors/blocked_recipient"),
    ("ACo-unreachable", ChannelError.NOT_CONNECTED, "errors/user_unreachable"),
    ("ACo-invalid-recipient", ChannelError.FATAL, "errors/invalid_recipient"),
    ("ACo-too-long", ChannelError.FATAL, "errors/too_many_characters"),
    ("ACo-not-found", ChannelError.FATAL, "errors/resource_not_found"),
    ("ACo-provider-error", ChannelError.TRANSIENT, "errors/provider_error"),
    ("ACo-no-session", ChannelError.TRANSIENT, "errors/no_client_session"),
]


@pytest.mark.parametrize("kind", [Kind.CONNECTION_NOTE, Kind.MESSAGE])
@pytest.mark.parametrize(("provider_id", "error", "type_"), ROWS)
def test_it_maps_each_error_row(fake_unipile, li_campaign, li_account, provider_id, error, type_, kind):
    result = UnipileChannel().send(_message(li_campaign, li_account, provider_id=provider_id, kind=kind))

    assert result.error == error
    assert result.detail.startswith(f"{type_}: ")  # the type, then Unipile's title
    assert not fake_unipile.invites
    assert not fake_unipile.messages


def test_it_maps_errors_by_type_not_by_detail():
    assert unipile.normalise(unipile.ApiError(422, "errors/limit_exceeded", "Already invited recently")) == (
        ChannelError.RATE_LIMITED
    )
    assert unipile.normalise(unipile.ApiError(422, "errors/something_new", "Limit exceeded")) == ChannelError.FATAL


def test_an_over_long_note_is_fatal(fake_unipile, li_campaign, li_account):
    result = UnipileChannel().send(_message(li_campaign, li_account, body="x" * 301))

    assert (result.error, result.detail) == (ChannelError.FATAL, "errors/too_many_characters: Too many characters")


def test_a_timed_out_invitation_that_went_out_is_a_success(fake_unipile, li_campaign, li_account):
    result = UnipileChannel().send(_message(li_campaign, li_account, provider_id="ACo-timeout"))

    assert result.error is None
    assert result.provider_message_id == fake_unipile.invites[0]["id"]
    assert fake_unipile.calls("GET", "/api/v1/users/invite/sent")  # it checked


def test_a_timed_out_invitation_not_found_is_unknown(fake_unipile, li_campaign, li_account):
    with pytest.raises(SendOutcomeUnknown, match="request_timeout.*not visible on LinkedIn yet"):
        UnipileChannel().send(_message(li_campaign, li_account, provider_id="ACo-timeout-lost"))

    assert fake_unipile.calls("GET", "/api/v1/users/invite/sent")


def test_a_timed_out_message_in_a_known_chat_is_found_in_the_chat(fake_unipile, li_campaign, li_account):
    fake_unipile.chats["chat-9"] = {"account_id": ACCOUNT_ID, "attendee": "ACo-timeout"}
    message = _message(li_campaign, li_account, provider_id="ACo-timeout", kind=Kind.MESSAGE, chat_id="chat-9")

    result = UnipileChannel().send(message)

    assert (result.error, result.chat_id) == (None, "chat-9")
    assert result.provider_message_id == fake_unipile.messages[-1]["id"]
    (check,) = fake_unipile.calls("GET", "/api/v1/chats/chat-9/messages")
    assert check["query"]["after"].endswith("Z")


def test_a_timed_out_new_chat_is_found_among_the_account_messages(fake_unipile, li_campaign, li_account):
    message = _message(li_campaign, li_account, provider_id="ACo-timeout", kind=Kind.INMAIL, body="Hello there.")

    result = UnipileChannel().send(message)

    assert result.error is None
    assert (result.chat_id, result.provider_message_id) == (
        fake_unipile.messages[-1]["chat_id"],
        fake_unipile.messages[-1]["id"],
    )


def test_a_read_timeout_is_checked_before_anything_else(fake_unipile, li_campaign, li_account, settings):
    settings.UNIPILE_TIMEOUT_SECONDS = 0.03
    fake_unipile.hang_seconds = 0.1

    result = UnipileChannel().send(_message(li_campaign, li_account, provider_id="ACo-hang"))

    assert result.error is None
    assert result.provider_message_id == fake_unipile.invites[0]["id"]


def test_a_dropped_connection_with_nothing_sent_is_unknown(fake_unipile, li_campaign, li_account):
    with pytest.raises(SendOutcomeUnknown, match="after the request was sent"):
        UnipileChannel().send(_message(li_campaign, li_account, provider_id="ACo-drop", kind=Kind.MESSAGE))


def test_an_unexpected_server_error_is_checked_too(fake_unipile, li_campaign, li_account):
    with pytest.raises(SendOutcomeUnknown, match="errors/unexpected_error"):
        UnipileChannel().send(_message(li_campaign, li_account, provider_id="ACo-unexpected"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_is_transient(fake_unipile, li_campaign, li_account, settings):
    settings.UNIPILE_DSN = f"http://127.0.0.1:{_closed_port()}"

    result = UnipileChannel().send(_message(li_campaign, li_account))

    assert result.error == ChannelError.TRANSIENT
    assert result.detail == "Unipile unreachable: ConnectionError"


def test_a_connect_timeout_never_left():
    assert unipile.never_left(requests.ConnectTimeout("connect timed out"))
    assert not unipile.never_left(requests.ReadTimeout("read timed out"))


def test_without_configuration_it_says_what_to_set(li_campaign, li_account, settings):
    settings.UNIPILE_DSN = ""

    result = UnipileChannel().send(_message(li_campaign, li_account))

    # A setup problem pauses the account (and tells its owner) instead of failing every message.
    assert result == unipile.SendResult(error=ChannelError.ACCOUNT_RESTRICTED, detail=unipile.NOT_CONFIGURED)
    with pytest.raises(ChannelUnavailable, match="UNIPILE_DSN"):
        UnipileChannel().fetch_messages(li_account, since=timezone.now(), now=timezone.now())


def test_a_wrong_api_key_is_our_configuration_not_the_account(fake_unipile, li_campaign, li_account, settings, caplog):
    """Unipile refusing our platform key says nothing about the LinkedIn account: a pause, never a reconnect link."""
    settings.UNIPILE_API_KEY = "wrong-key-123"
    caplog.set_level(logging.DEBUG, logger="outreach.channels.unipile")

    result = UnipileChannel().send(_message(li_campaign, li_account))

    assert result.error == ChannelError.ACCOUNT_RESTRICTED
    assert result.detail.startswith("errors/missing_credentials: ")
    assert "check UNIPILE_API_KEY" in result.detail
    assert "POST /api/v1/users/invite -> 401 errors/missing_credentials" in caplog.text
    assert "wrong-key-123" not in caplog.text
    with pytest.raises(ChannelUnavailable, match="UNIPILE_API_KEY"):
        UnipileChannel().list_pending_invites(li_account)


def test_it_logs_each_call_without_the_key(fake_unipile, li_campaign, li_account, caplog):
    caplog.set_level(logging.INFO, logger="outreach.channels.unipile")

    UnipileChannel().send(_message(li_campaign, li_account))

    assert "unipile POST /api/v1/users/invite -> 200" in caplog.text
    assert fake_unipile.api_key not in caplog.text


# -- reading ----------------------------------------------------------------------------------------------------


def test_it_fetches_replies_through_every_page(fake_unipile, li_account):
    fake_unipile.page_size = 2
    now = timezone.now()
    add = fake_unipile.add_message
    kept = [
        add(account_id=ACCOUNT_ID, sender_id="ACo-lena", text="Sounds good", at=now - dt.timedelta(minutes=m))
        for m in (1, 2, 3)
    ]
    add(account_id=ACCOUNT_ID, sender_id=OWN_ID, text="Sent from the phone", is_sender=True, at=now)
    add(account_id=ACCOUNT_ID, sender_id="ACo-lena", text="👍", is_event=True, at=now)
    add(account_id=ACCOUNT_ID, sender_id=OWN_ID, text="Mine without the flag", at=now)
    add(account_id=ACCOUNT_ID, sender_id="ACo-lena", text="Too old", at=now - dt.timedelta(hours=3))
    add(account_id="acc-someone-else", sender_id="ACo-lena", text="Other account", at=now)

    items = UnipileChannel().fetch_messages(li_account, since=now - dt.timedelta(hours=1), now=now)

    assert [item.provider_id for item in items] == [f"unipile:{m['id']}" for m in kept]
    assert {(item.sender_provider_id, item.text, item.chat_id) for item in items} == {
        ("ACo-lena", "Sounds good", "chat-inbound")
    }
    assert items[0].received_at == dt.datetime.fromisoformat(kept[0]["timestamp"])
    calls = fake_unipile.calls("GET", "/api/v1/messages")
    assert len(calls) == 3  # 6 messages in the window, 2 a page
    assert calls[0]["query"] == {
        "account_id": ACCOUNT_ID,
        "after": unipile.iso(now - dt.timedelta(hours=1)),
        "limit": "250",
    }
    assert [call["query"].get("cursor") for call in calls] == [None, "2", "4"]


def test_a_failed_read_is_unavailable_and_stores_nothing(fake_unipile, li_account, settings):
    fake_unipile.add_message(account_id=ACCOUNT_ID, sender_id="ACo-lena", text="Hi")
    settings.UNIPILE_DSN = f"http://127.0.0.1:{_closed_port()}"

    with pytest.raises(ChannelUnavailable, match="unreachable"):
        UnipileChannel().fetch_messages(li_account, since=timezone.now() - dt.timedelta(hours=1), now=timezone.now())


def test_polling_stores_a_unipile_reply_once(fake_unipile, li_campaign, li_account):
    lead = LeadFactory(campaign=li_campaign, provider_id="ACo-lena")
    fake_unipile.add_message(account_id=ACCOUNT_ID, sender_id="ACo-lena", text="Happy to talk")

    assert outreach_poll_replies(account_id=li_account.pk) == 1
    assert outreach_poll_replies(account_id=li_account.pk) == 0

    reply = InboundMessage.objects.get()
    assert (reply.lead, reply.text, reply.provider_id) == (
        lead,
        "Happy to talk",
        f"unipile:{fake_unipile.messages[0]['id']}",
    )


def test_it_lists_relations_newer_than_since_and_stops_paging(fake_unipile, li_account):
    fake_unipile.page_size = 2
    now = timezone.now()
    for minutes, member in [
        (1, "ACo-a"),
        (2, "ACo-b"),
        (3, "ACo-c"),
        (90, "ACo-old"),
        (91, "ACo-older"),
        (92, "ACo-x"),
    ]:
        fake_unipile.add_relation(account_id=ACCOUNT_ID, member_id=member, at=now - dt.timedelta(minutes=minutes))

    relations = UnipileChannel().list_relations(li_account, since=now - dt.timedelta(hours=1))

    assert [r.provider_id for r in relations] == ["ACo-a", "ACo-b", "ACo-c"]
    assert abs(relations[0].connected_at - (now - dt.timedelta(minutes=1))) < dt.timedelta(milliseconds=2)
    assert len(fake_unipile.calls("GET", "/api/v1/users/relations")) == 2  # the third page is never read


def test_relations_polling_marks_the_invitation_accepted(fake_unipile, li_campaign, li_account):
    invite = _message(li_campaign, li_account)
    OutreachMessage.objects.filter(pk=invite.pk).update(
        status=Status.SENT, sent_at=timezone.now() - dt.timedelta(days=2)
    )
    fake_unipile.add_relation(account_id=ACCOUNT_ID, member_id="ACo-lena", at=timezone.now())

    assert relations_poll(account_id=li_account.pk, now=timezone.now()) == 1

    invite.refresh_from_db()
    assert invite.accepted_at is not None


def test_it_lists_pending_invitations_over_pages_and_withdraws_one(fake_unipile, li_account):
    fake_unipile.page_size = 1
    first = fake_unipile.add_invite(account_id=ACCOUNT_ID, provider_id="ACo-a")
    fake_unipile.add_invite(account_id=ACCOUNT_ID, provider_id="ACo-b")
    fake_unipile.add_invite(account_id="acc-other", provider_id="ACo-c")

    pending = UnipileChannel().list_pending_invites(li_account)

    assert [(p.invitation_id, p.provider_id) for p in pending] == [
        (first["id"], "ACo-a"),
        (pending[1].invitation_id, "ACo-b"),
    ]
    assert pending[0].sent_at == dt.datetime.fromisoformat(first["parsed_datetime"])
    assert len(fake_unipile.calls("GET", "/api/v1/users/invite/sent")) == 2

    UnipileChannel().withdraw_invite(li_account, invitation_id=first["id"])

    (delete,) = fake_unipile.calls("DELETE", f"/api/v1/users/invite/sent/{first['id']}")
    assert delete["query"] == {"account_id": ACCOUNT_ID}
    assert [i["invited_user_id"] for i in fake_unipile.invites] == ["ACo-b", "ACo-c"]
    with pytest.raises(ChannelUnavailable, match="errors/resource_not_found"):
        UnipileChannel().withdraw_invite(li_account, invitation_id=first["id"])


def test_it_reads_the_account_status(fake_unipile, li_account):
    assert UnipileChannel().account_status(li_account) == "OK"
    fake_unipile.accounts[ACCOUNT_ID]["status"] = "CREDENTIALS"
    assert UnipileChannel().account_status(li_account) == "CREDENTIALS"


# -- the contract ----------------------------------------------------------------------------------------------

CONTRACT = Path(django_settings.BASE_DIR) / "vendor" / "unipile-openapi-v1.yaml"


@pytest.fixture(scope="session")
def contract() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with CONTRACT.open() as file:
        return yaml.load(file, Loader=loader)  # noqa: S506 (a safe loader, C or Python)


def _template(contract: dict, method: str, path: str) -> str | None:
    """The contract's path template for a concrete path: the most literal one that matches."""
    matches = [
        template
        for template, operations in contract["paths"].items()
        if method.lower() in operations and re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path)
    ]
    return min(matches, key=lambda t: t.count("{"), default=None)


def _properties(schema: dict) -> set[str]:
    names = set(schema.get("properties", {}))
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            names |= _properties(option)
    return names


def _body_schema(operation: dict, content_type: str) -> dict:
    """The body's schema; for a choice of bodies (`anyOf`, as webhooks have), every property any allows."""
    schema = operation["requestBody"]["content"][content_type]["schema"]
    if "anyOf" in schema:
        return {"properties": {k: v for option in schema["anyOf"] for k, v in option.get("properties", {}).items()}}
    return schema


def _field_known(schema: dict, field: str) -> bool:
    """`linkedin[inmail]` is the `inmail` property of the `linkedin` object."""
    outer, _, inner = field.partition("[")
    properties = schema.get("properties", {})
    if outer not in properties:
        return False
    return not inner or inner.rstrip("]") in _properties(properties[outer])


def _exercise_every_call(fake: FakeUnipile, li_campaign, li_account) -> None:
    channel = UnipileChannel()
    fake.add_message(account_id=ACCOUNT_ID, sender_id="ACo-lena", text="Hi")
    fake.add_relation(account_id=ACCOUNT_ID, member_id="ACo-lena", at=timezone.now())
    channel.send(_message(li_campaign, li_account))
    started = channel.send(_message(li_campaign, li_account, provider_id="ACo-m", kind=Kind.MESSAGE))
    channel.send(_message(li_campaign, li_account, provider_id="ACo-n", kind=Kind.MESSAGE, chat_id=started.chat_id))
    channel.send(_message(li_campaign, li_account, provider_id="ACo-i", kind=Kind.INMAIL, subject="Hello"))
    channel.send(_message(li_campaign, li_account, provider_id="ACo-timeout"))
    fake.chats["chat-t"] = {"account_id": ACCOUNT_ID, "attendee": "ACo-timeout"}
    channel.send(_message(li_campaign, li_account, provider_id="ACo-timeout", kind=Kind.MESSAGE, chat_id="chat-t"))
    channel.send(_message(li_campaign, li_account, provider_id="ACo-timeout", kind=Kind.INMAIL))
    channel.fetch_messages(li_account, since=timezone.now() - dt.timedelta(hours=1), now=timezone.now())
    channel.list_relations(li_account, since=timezone.now() - dt.timedelta(hours=1))
    pending = channel.list_pending_invites(li_account)
    channel.withdraw_invite(li_account, invitation_id=pending[0].invitation_id)
    channel.account_status(li_account)
    unipile.webhooks_register(request_url="https://sales.example.com/webhooks/unipile/", secret="s")
    # Connecting: the hosted sign-in link (new and reconnect), then the account's own profile.
    for reconnect in ("", ACCOUNT_ID):
        unipile.hosted_link(
            name="link-1",
            notify_url="https://sales.example.com/webhooks/unipile/linkedin/x/y/",
            success_url="https://sales.example.com/me/",
            failure_url="https://sales.example.com/me/?failed=1",
            expires_at=timezone.now() + dt.timedelta(hours=1),
            reconnect_account=reconnect,
        )
    channel.own_profile(li_account)
    assert unipile.unipile_check(UnipileConfig(dsn=fake.dsn, api_key=fake.api_key)).ok  # the settings page's "Test"
    # People search: filter ids, the search, and profile lookups of people the result leaves unnamed.
    UnipileSource(campaign=li_campaign).search_people(query=SearchQuery(locations=["London"]), cursor=None, limit=10)
    # Posts (presence): publish with a link card as the company page, then read who reacted and commented.
    post = PostFactory(account=li_account, author="company", as_organization="98765", campaign=li_campaign)
    published = UnipilePosts().publish(post)
    post.provider_post_id = published.provider_post_id
    fake.add_reaction(post_id=post.provider_post_id, person=unipile_server.search_person(1))
    fake.add_comment(post_id=post.provider_post_id, person=unipile_server.search_person(2), text="Nice")
    UnipilePosts().engagers(post)
    UnipilePosts().profile(post, unipile_server.search_person(2)["id"])
    # A person's activity (leads.intent).
    client = UnipileClient()
    fake.add_user_post("ACo-lena", text="On forecasting", at=timezone.now())
    for read in (client.user_posts, client.user_comments, client.user_reactions):
        read(account_id=ACCOUNT_ID, identifier="ACo-lena", limit=10)
    # Competitor watch: a company's posts, and who reacted to one of them.
    rival_post = fake.add_competitor_post(
        "10351", text="We launch Close.", at=timezone.now(), is_company=True, reactions=1
    )
    fake.add_competitor_reaction(rival_post, 1)
    rival = Competitor.objects.create(name="Ledgerline", linkedin_id="10351")
    (read,) = UnipileReader().posts(rival, li_account)
    kept = CompetitorPost(competitor=rival, provider_id=read.provider_id, social_id=read.social_id)
    UnipileReader().reactions(kept, li_account)


def test_the_fake_serves_only_what_the_contract_has(contract):
    for method, template in unipile_server.ROUTES:
        assert method.lower() in contract["paths"].get(template, {}), (method, template)


def test_every_call_the_adapter_makes_is_in_the_contract(contract, fake_unipile, li_campaign, li_account):
    """Every request of this test and of the tests before it in the session, checked against the contract."""
    _exercise_every_call(fake_unipile, li_campaign, li_account)
    requests_seen = [r for r in unipile_server.ALL_REQUESTS if r["headers"].get("x-api-key") == fake_unipile.api_key]
    served = set(unipile_server.ROUTES)
    checked = set()
    for request in requests_seen:
        method, template = request["method"], _template(contract, request["method"], request["path"])
        assert template, f"{method} {request['path']} is not in the contract"
        assert (method, template) in served, f"the fake does not serve {method} {template}"
        operation = contract["paths"][template][method.lower()]
        query_names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert set(request["query"]) <= query_names, (method, template, set(request["query"]) - query_names)
        if request["json"] is not None:
            schema = _body_schema(operation, "application/json")
            assert set(request["json"]) <= set(schema["properties"]), (template, request["json"])
        if request["form"] is not None:
            schema = _body_schema(operation, "multipart/form-data")
            unknown = [field for field in request["form"] if not _field_known(schema, field)]
            assert not unknown, (template, unknown)
        if request.get("status"):
            assert str(request["status"]) in operation["responses"], (method, template, request["status"])
        checked.add((method, template))
    assert checked == served  # the exercise above reaches every route


def _imported(li_campaign, li_account, url: str) -> OutreachMessage:
    """A lead from a CSV file: a LinkedIn profile URL, no LinkedIn id."""
    lead = LeadFactory(campaign=li_campaign, provider_id="", linkedin_url=url, first_name="Lena")
    return MessageFactory(lead=lead, campaign=li_campaign, account=li_account, status=Status.SENDING)


def test_it_reads_the_linkedin_id_of_a_lead_known_only_by_profile_url(fake_unipile, li_campaign, li_account):
    """An imported lead was once failed as unreachable; its profile URL is enough to invite them."""
    person = unipile_server.search_person(4)
    message = _imported(li_campaign, li_account, f"https://www.linkedin.com/in/{person['public_identifier']}/")

    result = UnipileChannel().send(message)

    assert result.error is None
    (invite,) = fake_unipile.calls("POST", "/api/v1/users/invite")
    assert invite["json"]["provider_id"] == person["id"]
    message.lead.refresh_from_db()
    assert message.lead.provider_id == person["id"]  # kept: read once
    (lookup,) = fake_unipile.calls("GET", f"/api/v1/users/{person['public_identifier']}")
    assert lookup["query"]["notify"] == "false"  # no "viewed your profile" for the person


def test_a_profile_nobody_has_is_not_reachable_on_linkedin(fake_unipile, li_campaign, li_account):
    message = _imported(li_campaign, li_account, "https://www.linkedin.com/in/nobody-at-all")

    result = UnipileChannel().send(message)

    assert result.error == ChannelError.NOT_CONNECTED
    assert not fake_unipile.calls("POST", "/api/v1/users/invite")


def test_the_lookup_takes_a_profile_view_and_waits_for_tomorrow_past_the_limit(fake_unipile, li_campaign, li_account):
    from outreach.limits import daily_cap
    from outreach.models import SendCounter

    now = timezone.now()
    day = now.astimezone(li_account.tz).date()
    limit = daily_cap(li_account, SendCounter.Kind.PROFILE_VIEW, day)
    SendCounter.objects.create(account=li_account, kind=SendCounter.Kind.PROFILE_VIEW, day=day, count=limit)
    person = unipile_server.search_person(4)
    message = _imported(li_campaign, li_account, f"https://www.linkedin.com/in/{person['public_identifier']}")

    result = UnipileChannel().send(message)

    assert result.error == ChannelError.PROFILE_VIEWS_USED
    assert not fake_unipile.calls("GET", f"/api/v1/users/{person['public_identifier']}")
    assert not fake_unipile.calls("POST", "/api/v1/users/invite")
