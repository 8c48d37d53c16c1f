"""Structured logs: JSON lines carrying request, user, task and lead ids, and never a secret or a message's text."""

import datetime as dt
import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from hooks.delivery import delivery_attempt
from hooks.models import Delivery
from hooks.tasks import delivery_attempt_task
from leads.lifecycle import Trigger, lead_transition
from leads.models import Lead
from outreach.sending import outreach_send_next
from salesdept.logcontext import ContextFilter, logging_config
from tests.conftest import login
from tests.factories import LeadFactory
from tests.fakes.unipile_server import FakeUnipile
from tests.hooks.conftest import add_endpoint

pytestmark = pytest.mark.django_db
IN_WINDOW = dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.UTC)
BODY = "Hi Lena, our pricing for Northwind is 4,200 a seat"  # the text that must stay out of logs
UNIPILE_KEY = "unipile-team-Qw7Zr2Lp0Xy5"


@pytest.fixture
def lines() -> Iterator[Callable[[], list[dict]]]:
    """Every line the production handler would write while the test runs (root at DEBUG), parsed."""
    config = logging_config(fmt="json", level="DEBUG")["formatters"]["main"]
    formatter_class = config.pop("()")
    module, name = formatter_class.rsplit(".", 1)
    formatter = getattr(__import__(module, fromlist=[name]), name)(config.pop("format"), **config)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous)


def request_lines(found: list[dict]) -> list[dict]:
    return [line for line in found if line["name"] == "salesdept.request"]


def test_a_request_line_carries_the_proxys_request_id_and_the_user(client, alice, lines):
    login(client, alice)
    response = client.get("/leads/", HTTP_X_REQUEST_ID="edge-7f3a91")

    [line] = request_lines(lines())
    assert (line["request_id"], line["user_id"]) == ("edge-7f3a91", alice.pk)
    assert line["message"].startswith("GET leads:list 200") and line["levelname"] == "INFO"
    assert response["X-Request-ID"] == "edge-7f3a91"


@pytest.mark.parametrize("given", ["", "two words", "x" * 65, "id\u202e"])
def test_an_odd_or_missing_request_id_is_replaced_by_a_fresh_one(client, given, lines):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)

    [line] = request_lines(lines())
    assert line["request_id"] == response["X-Request-ID"] != given
    assert len(line["request_id"]) == 32 and line["user_id"] is None


def test_each_request_gets_its_own_id(client, lines):
    client.get("/healthz")
    client.get("/healthz")
    assert len({line["request_id"] for line in request_lines(lines())}) == 2


def test_a_tasks_lines_carry_its_id_and_a_sends_lines_its_lead(
    client, bob, alice, pending, alice_account, time_machine, settings, lines
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    time_machine.move_to(IN_WINDOW, tick=False)
    from tests.fakes.webhook_receiver import WebhookReceiver

    with WebhookReceiver() as receiver:
        add_endpoint(client, bob, receiver, ["lead.status_changed"])
        receiver.answer_with(500)
        lead = LeadFactory(campaign=pending.campaign, owner=alice, status=Lead.Status.NEW)
        lead_transition(lead=lead, to=Lead.Status.QUALIFIED, trigger=Trigger.QUALIFICATION)
        delivery_attempt_task.apply(args=[Delivery.objects.get().pk], task_id="task-0b5e")
    login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1})
    assert outreach_send_next(account_id=alice_account.pk, now=IN_WINDOW + dt.timedelta(minutes=1)) == "sent"

    found = lines()
    [failed] = [line for line in found if line["name"] == "hooks.delivery"]
    assert failed["task_id"] == "task-0b5e" and "HTTP 500" in failed["message"]
    [sending] = [line for line in found if line["message"].startswith("sending message")]
    assert sending["lead_id"] == pending.lead_id and sending["task_id"] == ""
    assert all(line["lead_id"] is None for line in found if line is not sending)  # bound for the send only


def test_no_secret_or_message_text_in_any_log_line(
    client, bob, alice, pending, alice_account, time_machine, settings, lines
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    time_machine.move_to(IN_WINDOW, tick=False)
    pending.body = BODY
    pending.save(update_fields=["body"])
    from tests.fakes.webhook_receiver import WebhookReceiver

    with FakeUnipile(api_key=UNIPILE_KEY) as tenant, WebhookReceiver() as receiver:
        tenant.add_account("acc-1")
        login(client, bob).post(
            "/settings/unipile/", {"dsn": tenant.dsn, "unipile_key": "wrong-key-9f8e7d", "action": "save"}
        )
        client.post("/settings/unipile/", {"dsn": tenant.dsn, "unipile_key": UNIPILE_KEY, "action": "save"})
        secret = add_endpoint(client, bob, receiver, ["message.approved", "message.sent"])
        receiver.answer_with(500, 500)  # failures are logged: they must not carry the secret either
        login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1})
        assert outreach_send_next(account_id=alice_account.pk, now=IN_WINDOW + dt.timedelta(minutes=1)) == "sent"
        for delivery in Delivery.objects.all():
            delivery_attempt(delivery_id=delivery.pk)

    text = "\n".join(json.dumps(line) for line in lines())
    assert len(lines()) >= 8 and "HTTP 500" in text  # the approvals, the send and the failures were logged
    for leaked in (UNIPILE_KEY, "wrong-key-9f8e7d", secret, secret[6:], BODY, "4,200 a seat"):
        assert leaked not in text


def test_a_secret_shaped_value_in_a_message_is_masked(lines):
    logging.getLogger("salesdept.test").warning(
        "called with %s and %s", "whsec_abcdefghijkl123", "Bearer tok3n-value-99"
    )

    [line] = lines()
    assert line["message"] == "called with whsec_[hidden] and Bearer [hidden]"


def test_development_lines_are_plain_text_with_the_same_fields():
    config = logging_config(fmt="text", level="INFO")
    assert "()" not in config["formatters"]["main"]
    assert "req=%(request_id)s" in config["formatters"]["main"]["format"]
    assert config["handlers"]["console"]["filters"] == ["context"]
