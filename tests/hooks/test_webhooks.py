"""Outbound webhooks end to end: a manager adds an endpoint, things happen, a real receiver checks what arrives."""

import datetime as dt

import pytest
from django.db import connection

from approvals.services import message_approve
from hooks.delivery import delivery_attempt
from hooks.models import Delivery, Endpoint
from leads.lifecycle import Trigger, lead_transition
from leads.models import Lead
from leads.services import activity_record
from outreach.sending import outreach_send_next
from tests.conftest import login
from tests.factories import LeadFactory
from tests.hooks.conftest import add_endpoint

pytestmark = pytest.mark.django_db

IN_WINDOW = dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.UTC)  # a weekday morning: the sandbox sends


def qualify_a_lead(campaign, owner) -> Lead:
    lead = LeadFactory(campaign=campaign, owner=owner, status=Lead.Status.NEW)
    assert lead_transition(lead=lead, to=Lead.Status.QUALIFIED, trigger=Trigger.QUALIFICATION)
    return lead


def only_delivery() -> Delivery:
    [delivery] = Delivery.objects.all()
    return delivery


def test_it_signs_each_delivery_so_the_receiver_verifies_it(client, bob, alice, campaign, receiver, private_allowed):
    add_endpoint(client, bob, receiver, ["lead.status_changed"])
    lead = LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.NEW)

    lead_transition(lead=lead, to=Lead.Status.QUALIFIED, trigger=Trigger.QUALIFICATION)
    assert delivery_attempt(delivery_id=only_delivery().pk) is True

    [request] = receiver.received
    assert request.verified and request.answered == 200
    assert request.headers["X-Salesdept-Event"] == "lead.status_changed"
    assert request.event_id == request.json["id"]
    assert request.json["data"] == {
        "lead_id": lead.pk,
        "campaign_id": campaign.pk,
        "from": "new",
        "to": "qualified",
        "trigger": "qualification",
    }
    delivery = only_delivery()
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("delivered", 200, 1)


def test_a_receiver_with_another_secret_refuses_the_delivery_and_it_is_retried(
    client, bob, alice, campaign, receiver, private_allowed
):
    add_endpoint(client, bob, receiver, ["lead.status_changed"])
    receiver.secret = "whsec_not-the-one"
    qualify_a_lead(campaign, alice)

    assert delivery_attempt(delivery_id=only_delivery().pk) is False

    assert [r.verified for r in receiver.received] == [False]
    delivery = only_delivery()
    assert (delivery.status, delivery.response_code) == ("pending", 400)


def test_it_retries_with_backoff_then_delivers_the_same_event(
    client, bob, alice, campaign, receiver, private_allowed, time_machine
):
    time_machine.move_to(IN_WINDOW, tick=False)
    add_endpoint(client, bob, receiver, ["lead.status_changed"])
    receiver.answer_with(500, 502, 503)
    qualify_a_lead(campaign, alice)
    pk = only_delivery().pk

    assert delivery_attempt(delivery_id=pk) is False
    assert delivery_attempt(delivery_id=pk) is False  # not due yet: nothing sent
    assert len(receiver.received) == 1
    waits = []
    while only_delivery().status == "pending":
        due = only_delivery().next_attempt_at
        waits.append(due - time_machine_now())
        time_machine.move_to(due, tick=False)
        delivery_attempt(delivery_id=pk)

    assert waits == [dt.timedelta(minutes=1), dt.timedelta(minutes=2), dt.timedelta(minutes=4)]
    assert [r.answered for r in receiver.received] == [500, 502, 503, 200]
    assert len({r.event_id for r in receiver.received}) == 1
    assert all(r.verified for r in receiver.received)  # each attempt signed afresh, at its own time
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 4, 200)


def time_machine_now() -> dt.datetime:
    from salesdept import clock

    return clock.now()


def test_it_gives_up_after_a_day_of_failures(client, bob, alice, campaign, receiver, private_allowed, time_machine):
    time_machine.move_to(IN_WINDOW, tick=False)
    add_endpoint(client, bob, receiver, ["lead.status_changed"])
    receiver.answer_with(*[500] * 50)
    qualify_a_lead(campaign, alice)
    pk = only_delivery().pk

    delivery_attempt(delivery_id=pk)
    while (delivery := only_delivery()).status == "pending":
        time_machine.move_to(delivery.next_attempt_at, tick=False)
        delivery_attempt(delivery_id=pk)

    minutes = [1, 2, 4, 8, 16, 32, 64, 128, 240, 240, 240, 240]  # doubling, at most 4 hours apart
    assert delivery.attempts == len(receiver.received) == len(minutes) + 1
    assert time_machine_now() - IN_WINDOW == dt.timedelta(minutes=sum(minutes))  # the last try within the day
    assert delivery.status == "failed" and delivery.next_attempt_at is None


def test_a_replay_delivers_the_same_event_once_more(client, bob, alice, campaign, receiver, private_allowed):
    add_endpoint(client, bob, receiver, ["lead.status_changed"])
    qualify_a_lead(campaign, alice)
    first = only_delivery()
    delivery_attempt(delivery_id=first.pk)

    response = client.post(f"/settings/webhooks/deliveries/{first.pk}/replay/")
    assert response.status_code == 302
    replay = Delivery.objects.exclude(pk=first.pk).get()
    assert delivery_attempt(delivery_id=replay.pk) is True
    assert delivery_attempt(delivery_id=replay.pk) is False  # once more, not twice more

    assert len(receiver.received) == 2
    assert receiver.received[0].event_id == receiver.received[1].event_id == str(first.event_id)
    assert receiver.received[0].json == receiver.received[1].json
    log = client.get(f"/settings/webhooks/{first.endpoint_id}/")
    assert log.text.count(str(first.event_id)) >= 2 and "HTTP 200" in log.text


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:{port}/hooks", "http://169.254.169.254/latest/meta-data", "http://localhost:{port}/"]
)
def test_it_refuses_an_endpoint_on_a_private_address(client, bob, receiver, url):
    login(client, bob)
    form = {"url": url.format(port=receiver.port), "events": ["lead.created"]}
    response = client.post("/settings/webhooks/add/", form)
    assert response.status_code == 400
    assert "private, loopback, link-local or reserved" in response.text
    assert not Endpoint.objects.exists()


def test_it_refuses_a_url_that_is_not_http(client, bob):
    login(client, bob)
    response = client.post("/settings/webhooks/add/", {"url": "file:///etc/passwd", "events": ["lead.created"]})
    assert response.status_code == 400 and not Endpoint.objects.exists()


def test_a_delivery_to_an_address_that_became_private_is_refused_without_a_request(
    client, bob, alice, campaign, receiver, private_allowed, settings
):
    add_endpoint(client, bob, receiver, ["lead.status_changed"])
    settings.WEBHOOKS_ALLOW_PRIVATE = False  # the admin's switch turned off (or the name now points inside)
    qualify_a_lead(campaign, alice)

    assert delivery_attempt(delivery_id=only_delivery().pk) is False

    assert receiver.received == []
    delivery = only_delivery()
    assert delivery.status == "failed" and "private" in delivery.error  # a refusal is not retried


def test_the_secret_is_shown_once_and_stored_encrypted(client, bob, receiver, private_allowed):
    secret = add_endpoint(client, bob, receiver, ["lead.created"])
    assert secret.startswith("whsec_") and len(secret) > 30

    assert secret not in client.get("/settings/webhooks/").text
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM hooks_endpoint")
        [(stored,)] = cursor.fetchall()
    assert secret not in stored
    assert Endpoint.objects.get().secret == secret


def test_approval_send_and_reply_become_events_without_the_message_text(
    client, bob, alice, pending, alice_account, receiver, private_allowed, time_machine
):
    time_machine.move_to(IN_WINDOW, tick=False)
    add_endpoint(client, bob, receiver, ["message.approved", "message.sent", "reply.received"])
    message_approve(message=pending, actor=alice, revision=1)
    assert outreach_send_next(account_id=alice_account.pk, now=IN_WINDOW + dt.timedelta(minutes=1)) == "sent"
    activity_record(verb="reply.analysed", lead=pending.lead, inbound=7, intent="interested", phrase="Sounds good")

    for delivery in Delivery.objects.order_by("pk"):
        delivery_attempt(delivery_id=delivery.pk)

    events = [(r.json["type"], r.json["data"]) for r in receiver.received]
    assert [event for event, _ in events] == ["message.approved", "message.sent", "reply.received"]
    assert events[0][1]["message_id"] == events[1][1]["message_id"] == pending.pk
    reply = {"reply_id": 7, "lead_id": pending.lead_id, "campaign_id": pending.campaign_id, "intent": "interested"}
    assert events[2][1] == reply
    for request in receiver.received:
        assert pending.body not in request.body.decode()
        assert "Sounds good" not in request.body.decode()


def test_only_endpoints_that_want_an_event_get_it(client, bob, alice, campaign, receiver, private_allowed):
    add_endpoint(client, bob, receiver, ["import.finished"])
    qualify_a_lead(campaign, alice)
    assert not Delivery.objects.exists()


def test_no_endpoint_costs_no_delivery_and_no_query(alice, campaign, django_assert_num_queries):
    lead = qualify_a_lead(campaign, alice)  # the subscriptions (none) are now cached
    with django_assert_num_queries(2):  # the status UPDATE and the timeline INSERT; nothing for webhooks
        lead_transition(lead=lead, to="disqualified", trigger=Trigger.REQUALIFICATION)
    assert not Delivery.objects.exists()


def test_a_manager_sees_the_delivery_log_and_can_remove_an_endpoint(
    client, bob, alice, campaign, receiver, private_allowed
):
    add_endpoint(client, bob, receiver, ["lead.status_changed"])
    receiver.answer_with(503)
    qualify_a_lead(campaign, alice)
    delivery_attempt(delivery_id=only_delivery().pk)
    endpoint = Endpoint.objects.get()

    page = client.get(f"/settings/webhooks/{endpoint.pk}/")
    assert "HTTP 503" in page.text and "lead.status_changed" in page.text
    listing = client.get("/settings/webhooks/")
    assert receiver.url in listing.text

    assert client.post(f"/settings/webhooks/{endpoint.pk}/remove/").status_code == 302
    assert not Endpoint.objects.exists() and not Delivery.objects.exists()
    qualify_a_lead(campaign, alice)
    assert not Delivery.objects.exists()  # nothing more is queued for it


def test_a_found_lead_and_a_finished_import_become_events(client, bob, alice, campaign, receiver, private_allowed):
    from leads.imports import csv_import_create, csv_import_run, csv_import_start
    from leads.services import leads_find

    add_endpoint(client, bob, receiver, ["lead.created", "import.finished"])
    found = leads_find(campaign_id=campaign.pk, limit=2)
    assert len(found) == 2
    job = csv_import_create(
        user=alice, file_name="people.csv", data=b"First Name,Last Name,Company\r\nJo,Doe,Acme\r\n", campaign=campaign
    )
    assert csv_import_start(job=job, mapping=job.mapping)
    csv_import_run(job_id=job.pk)
    for delivery in Delivery.objects.order_by("pk"):
        delivery_attempt(delivery_id=delivery.pk)

    created = [r.json["data"] for r in receiver.received if r.json["type"] == "lead.created"]
    assert sorted(data["id"] for data in created) == sorted(found)
    assert all(data["campaign_id"] == campaign.pk and data["first_name"] for data in created)
    [finished] = [r.json["data"] for r in receiver.received if r.json["type"] == "import.finished"]
    assert finished == {
        "import_id": job.pk, "campaign_id": campaign.pk, "status": "done", "total_rows": 1, "created": 1,
        "merged": 0, "skipped": 0, "errors": 0,
    }  # fmt: skip


def test_erasing_a_person_removes_their_details_from_the_delivery_log(
    client, bob, alice, campaign, receiver, private_allowed
):
    from leads.privacy import lead_erase
    from leads.services import leads_find

    add_endpoint(client, bob, receiver, ["lead.created"])
    [lead_id] = leads_find(campaign_id=campaign.pk, limit=1)
    lead = Lead.objects.get(pk=lead_id)
    assert Delivery.objects.get().payload["data"]["last_name"] == lead.last_name

    lead_erase(lead=lead, actor=bob, reason="Asked by email")

    delivery = Delivery.objects.get()
    assert delivery.payload["data"] == {"id": lead_id, "erased": True}
    assert lead.last_name not in str(delivery.payload) and delivery.payload["type"] == "lead.created"
