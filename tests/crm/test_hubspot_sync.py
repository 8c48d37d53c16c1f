"""HubSpot sync against a local fake of HubSpot's API, through the real hubspot-api-client."""

import datetime as dt
import logging
from decimal import Decimal
from unittest import mock

import pytest

from crm.models import CRMConnection, SyncRecord, SyncRun
from crm.sync import sync_run
from crm.tasks import crm_sync_task
from deals.models import Deal, DealStage
from deals.services import deal_move, deal_open
from leads.models import Activity, Lead
from salesdept.models import Notification
from tests.crm.conftest import conversation, reply_received

pytestmark = pytest.mark.django_db
S = Lead.Status


def stage(name: str) -> DealStage:
    return DealStage.objects.get(name=name)


def only(items: list):
    assert len(items) == 1, items
    return items[0]


def counts(run: SyncRun) -> tuple:
    run.refresh_from_db()
    return run.status, run.created, run.updated, run.failed


@pytest.fixture
def history(alice):
    """Two people we talk to at one company, one of them with a reply and a deal; one prospect not yet written to."""
    from tests.factories import CompanyFactory, LeadFactory

    acme = CompanyFactory(name="Acme Ledger", domain="acme-ledger.example")
    lena = conversation(alice, email="lena@acme-ledger.example", company=acme, reply="Yes, tell me more")
    omar = conversation(alice, email="omar@acme-ledger.example", company=acme)
    Lead.objects.filter(pk=lena.pk).update(status=S.INTERESTED)
    lena.refresh_from_db()
    deal = deal_open(lead=lena, actor=alice, value=Decimal("12000"), currency="EUR", next_step="Send the deck")
    prospect = LeadFactory(status=S.QUALIFIED, email="not-yet@elsewhere.example")
    return {"acme": acme, "lena": lena, "omar": omar, "deal": deal, "prospect": prospect}


def test_it_sends_contacts_companies_deals_and_notes_once_and_associated(connection, hubspot, history):
    run = sync_run(connection)

    assert counts(run) == ("done", 7, 0, 0)  # 1 company, 2 contacts, 1 deal, 3 notes (2 sent, 1 reply)
    company = only(hubspot.by_property("companies", "domain", "acme-ledger.example"))
    lena = only(hubspot.by_property("contacts", "email", "lena@acme-ledger.example"))
    omar = only(hubspot.by_property("contacts", "email", "omar@acme-ledger.example"))
    assert hubspot.by_property("contacts", "email", "not-yet@elsewhere.example") == []  # not written to yet
    assert (lena["properties"]["firstname"], lena["properties"]["jobtitle"]) == (
        history["lena"].first_name, "Chief Financial Officer",
    )  # fmt: skip
    assert lena["properties"]["salesdept_lead_id"] == str(history["lena"].pk)
    assert hubspot.associated("contacts", lena["id"], "companies") == {company["id"]}
    assert hubspot.associated("contacts", omar["id"], "companies") == {company["id"]}
    deal = only(hubspot.by_property("deals", "salesdept_deal_id", str(history["deal"].pk)))
    assert (deal["properties"]["dealstage"], deal["properties"]["amount"]) == ("appointmentscheduled", "12000.00")
    assert hubspot.associated("deals", deal["id"], "contacts") == {lena["id"]}
    assert hubspot.associated("deals", deal["id"], "companies") == {company["id"]}
    notes = hubspot.objects["notes"].values()
    assert len(notes) == 3
    lena_notes = [n for n in notes if hubspot.associated("notes", n["id"], "contacts") == {lena["id"]}]
    bodies = sorted(n["properties"]["hs_note_body"].split(":")[0] for n in lena_notes)
    assert bodies == [f"Reply from {history['lena'].full_name}", "Sent by Alice Rivera (LinkedIn connection note)"]
    assert all(hubspot.associated("notes", n["id"], "deals") == {deal["id"]} for n in lena_notes)
    assert SyncRecord.objects.filter(state="ok").count() == 7
    connection.refresh_from_db()
    assert connection.synced_through == run.started_at and connection.claimed_by_run is None


def test_an_incremental_run_sends_only_what_changed(connection, hubspot, history, alice, later):
    sync_run(connection)
    later(16)
    calls_before = len(hubspot.requests)
    nothing = sync_run(connection)
    assert counts(nothing) == ("done", 0, 0, 0)
    # Nothing changed: the run only asked HubSpot for its own deal changes (one search).
    assert [r["path"] for r in hubspot.requests[calls_before:]] == ["/crm/v3/objects/deals/search"]

    later(16)
    omar = Lead.objects.get(pk=history["omar"].pk)
    omar.position = "VP Finance"
    omar.save(update_fields=["position", "updated_at"])
    reply_received(history["lena"], "Can we talk Tuesday?")
    changed = sync_run(connection)

    assert counts(changed) == ("done", 1, 1, 0)  # one new note; omar updated
    assert only(hubspot.by_property("contacts", "email", "omar@acme-ledger.example"))["properties"]["jobtitle"] == (
        "VP Finance"
    )
    assert len(hubspot.objects["notes"]) == 4  # the earlier three were not sent again
    assert len(hubspot.objects["contacts"]) == 2 and len(hubspot.objects["deals"]) == 1


def test_our_stage_move_reaches_hubspot(connection, hubspot, history, alice, later):
    sync_run(connection)
    later(16)
    deal_move(deal=history["deal"], stage=stage("Proposal sent"), actor=alice)
    sync_run(connection)
    remote = only(hubspot.by_property("deals", "salesdept_deal_id", str(history["deal"].pk)))
    assert remote["properties"]["dealstage"] == "presentationscheduled"


def test_a_deal_won_in_hubspot_is_won_here_and_the_lead_follows(connection, hubspot, history, later):
    sync_run(connection)
    remote = only(hubspot.by_property("deals", "salesdept_deal_id", str(history["deal"].pk)))
    later(10)
    hubspot.move_deal(remote["id"], "closedwon")
    later(6)

    run = sync_run(connection)

    deal = Deal.objects.select_related("stage", "lead").get(pk=history["deal"].pk)
    assert (deal.stage.name, deal.is_closed, deal.lead.status) == ("Won", True, S.WON)
    run.refresh_from_db()
    assert run.pulled == 1
    # Pulled once: the next run sees the same stage on both sides.
    later(16)
    again = sync_run(connection)
    assert again.pulled == 0 and Deal.objects.get(pk=deal.pk).stage.name == "Won"


def test_a_stage_moved_on_both_sides_keeps_the_newer_and_says_so(connection, hubspot, history, alice, later):
    sync_run(connection)
    remote = only(hubspot.by_property("deals", "salesdept_deal_id", str(history["deal"].pk)))
    later(5)
    hubspot.move_deal(remote["id"], "decisionmakerboughtin")  # theirs first
    later(5)
    deal_move(deal=history["deal"], stage=stage("Proposal sent"), actor=alice)  # ours later: ours wins

    run = sync_run(connection)

    assert Deal.objects.get(pk=history["deal"].pk).stage.name == "Proposal sent"
    assert hubspot.objects["deals"][remote["id"]]["properties"]["dealstage"] == "presentationscheduled"
    run.refresh_from_db()
    assert any("moved on both sides; ours (Proposal sent) is newer" in note for note in run.notes)


def test_a_429_storm_waits_each_retry_after_and_loses_nothing(connection, hubspot, history, eager):
    hubspot.rate_limit(3, retry_after="2")
    with mock.patch.object(crm_sync_task, "retry", wraps=crm_sync_task.retry) as retry:
        crm_sync_task.delay(connection.pk)

    assert [call.kwargs["countdown"] for call in retry.call_args_list] == [2.0, 2.0, 2.0]
    run = only(list(SyncRun.objects.all()))  # one run, resumed after each wait
    assert (run.status, run.rate_limit_waits, run.waited_seconds) == ("done", 3, 6.0)
    assert hubspot.statuses().count(429) == 3
    assert len(hubspot.objects["contacts"]) == 2 and len(hubspot.objects["companies"]) == 1
    assert len(hubspot.objects["deals"]) == 1 and len(hubspot.objects["notes"]) == 3
    assert run.created == 7


def test_a_rate_limit_in_the_middle_resumes_without_sending_twice(connection, hubspot, history, eager):
    hubspot.fail_call(6, 429)  # a 429 after a few records went out
    with mock.patch.object(crm_sync_task, "retry", wraps=crm_sync_task.retry) as retry:
        crm_sync_task.delay(connection.pk)
    assert retry.call_count == 1
    assert len(hubspot.objects["contacts"]) == 2 and len(hubspot.objects["notes"]) == 3
    assert len(hubspot.objects["deals"]) == 1 and len(hubspot.objects["companies"]) == 1
    assert SyncRun.objects.get().status == "done"


def test_a_run_killed_half_way_resumes_next_time_without_duplicates(connection, hubspot, history, monkeypatch):
    from crm.hubspot import HubSpotAdapter

    real_add_note = HubSpotAdapter.add_note
    made = []

    def add_note_then_die(self, note, **kwargs):  # the note reaches HubSpot; the worker dies before we record it
        made.append(real_add_note(self, note, **kwargs))
        raise RuntimeError("worker killed")

    monkeypatch.setattr(HubSpotAdapter, "add_note", add_note_then_die)
    with pytest.raises(RuntimeError, match="worker killed"):
        sync_run(connection)
    assert len(made) == 1 and len(hubspot.objects["notes"]) == 1
    monkeypatch.setattr(HubSpotAdapter, "add_note", real_add_note)
    connection.refresh_from_db()
    assert connection.claimed_by_run is None  # an exception frees the connection; a SIGKILL waits out the stale time

    resumed = sync_run(connection)

    assert resumed.status == "done"
    assert len(hubspot.objects["notes"]) == 3 and made[0] in hubspot.objects["notes"]
    assert len(hubspot.objects["contacts"]) == 2 and len(hubspot.objects["deals"]) == 1
    assert len(hubspot.objects["companies"]) == 1
    assert SyncRecord.objects.exclude(state="ok").count() == 0


def test_a_refused_record_does_not_stop_the_others_and_shows_on_the_lead_page(
    connection, hubspot, history, client, alice
):
    hubspot.refuse_email("omar@acme-ledger.example")
    run = sync_run(connection)

    assert counts(run) == ("done", 5, 0, 1)  # omar (and his note) are not sent; the rest is
    assert len(hubspot.objects["contacts"]) == 1 and len(hubspot.objects["notes"]) == 2
    record = SyncRecord.objects.get(kind="contact", local_id=history["omar"].pk)
    assert record.state == "error" and "email 'omar@acme-ledger.example' is invalid" in record.last_error
    client.force_login(alice)
    page = client.get(f"/leads/{history['omar'].pk}/").content.decode()
    assert "CRM sync" in page and "Refused" in page and "is invalid" in page


def test_refused_credentials_stop_the_run_mark_the_connection_and_tell_managers(connection, hubspot, history, bob):
    CRMConnection.objects.filter(pk=connection.pk).update(credentials="pat-na1-revoked")
    connection.refresh_from_db()

    run = sync_run(connection)

    run.refresh_from_db()
    assert run.status == "failed" and run.error.startswith("Credentials refused")
    assert hubspot.objects["contacts"] == {}
    connection.refresh_from_db()
    assert connection.health == "auth_refused" and connection.claimed_by_run is None
    notice = only(list(Notification.objects.filter(user=bob)))
    assert "HubSpot refused our credentials" in notice.text and notice.url == "/settings/crm/hubspot/"


def test_the_token_is_never_logged(connection, hubspot, history, caplog):
    caplog.set_level(logging.DEBUG)
    CRMConnection.objects.filter(pk=connection.pk).update(credentials="pat-na1-revoked-secret-xyz")
    connection.refresh_from_db()
    sync_run(connection)
    run = SyncRun.objects.get()
    assert "pat-na1-revoked-secret-xyz" not in caplog.text
    assert "pat-na1-revoked-secret-xyz" not in f"{run.error} {run.notes}"
    assert "pat-na1-revoked-secret-xyz" not in str(CRMConnection.objects.values_list("health_reason", flat=True)[0])


def test_one_run_at_a_time(connection, hubspot, history):
    CRMConnection.objects.filter(pk=connection.pk).update(claimed_by_run=999999, claimed_at=history["deal"].opened_at)
    assert sync_run(connection) is None
    assert not SyncRun.objects.exists() and hubspot.objects["contacts"] == {}


def test_erasing_a_person_deletes_their_contact_in_hubspot_and_never_sends_them_again(
    connection, hubspot, history, carol, eager, later, django_capture_on_commit_callbacks
):
    from leads.privacy import lead_erase

    sync_run(connection)
    contact_id = only(hubspot.by_property("contacts", "email", "lena@acme-ledger.example"))["id"]

    with django_capture_on_commit_callbacks(execute=True):
        lead_erase(lead=history["lena"], actor=carol, reason="Asked by email")

    assert contact_id not in hubspot.objects["contacts"] and ("contacts", contact_id) in hubspot.archived
    logged = Activity.objects.get(lead=history["lena"], verb="privacy.crm_erased")
    assert logged.payload == {"erased": ["HubSpot"], "unreached": []}
    later(16)
    sync_run(connection, full=True)  # even a full run leaves the emptied person out
    assert hubspot.by_property("contacts", "salesdept_lead_id", str(history["lena"].pk)) == []
    assert len(hubspot.objects["contacts"]) == 1


def test_an_erasure_hubspot_could_not_take_is_listed_and_done_at_the_next_sync(
    connection, hubspot, history, carol, eager, client, django_capture_on_commit_callbacks
):
    from leads.privacy import lead_erase

    sync_run(connection)
    contact_id = only(hubspot.by_property("contacts", "email", "lena@acme-ledger.example"))["id"]
    hubspot.fail_call(1, 503)
    with django_capture_on_commit_callbacks(execute=True):
        lead_erase(lead=history["lena"], actor=carol, reason="Asked by email")

    assert contact_id in hubspot.objects["contacts"]
    logged = Activity.objects.get(lead=history["lena"], verb="privacy.crm_erased")
    assert logged.payload["erased"] == [] and logged.payload["unreached"][0]["crm"] == "HubSpot"
    assert "HubSpot 503" in logged.payload["unreached"][0]["error"]
    client.force_login(carol)
    page = client.get(f"/leads/{history['lena'].pk}/").content.decode()
    assert "Not removed from HubSpot yet" in page and "Erasure not confirmed yet" in page

    sync_run(connection)

    assert contact_id not in hubspot.objects["contacts"]
    assert SyncRecord.objects.get(kind="contact", local_id=history["lena"].pk).state == "erased"


def test_a_run_whose_worker_died_is_taken_over_after_the_stale_time(connection, hubspot, history, settings):
    from salesdept import clock

    lost = SyncRun.objects.create(connection=connection, started_at=clock.now(), status="waiting")
    claimed_at = clock.now() - dt.timedelta(minutes=settings.CRM_SYNC_STALE_MINUTES - 1)
    CRMConnection.objects.filter(pk=connection.pk).update(claimed_by_run=lost.pk, claimed_at=claimed_at)
    assert sync_run(connection) is None  # not stale yet

    CRMConnection.objects.filter(pk=connection.pk).update(claimed_at=claimed_at - dt.timedelta(minutes=2))
    run = sync_run(connection)

    assert run.status == "done" and len(hubspot.objects["contacts"]) == 2
    lost.refresh_from_db()
    assert (lost.status, lost.error) == ("failed", "Stopped: its worker or its retry was lost.")


def test_a_rate_limit_that_does_not_pass_gives_up_and_frees_the_connection(
    connection, hubspot, history, eager, settings
):
    settings.CRM_RETRIES_MAX = 2
    hubspot.rate_limit(50, retry_after="1")
    crm_sync_task.delay(connection.pk)

    run = SyncRun.objects.get()
    assert (run.status, run.rate_limit_waits) == ("failed", 3) and run.error.startswith("Rate limited 3 times")
    connection.refresh_from_db()
    assert connection.claimed_by_run is None and connection.synced_through is None  # the next run starts over
    assert hubspot.objects["contacts"] == {}


def test_the_schedule_tick_starts_one_run_per_active_connection(connection, hubspot, history, eager):
    from crm.tasks import crm_sync_all_task

    assert crm_sync_all_task.delay().get() == 1
    CRMConnection.objects.filter(pk=connection.pk).update(is_active=False)
    assert crm_sync_all_task.delay().get() == 0
    assert SyncRun.objects.count() == 1 and len(hubspot.objects["contacts"]) == 2


@pytest.mark.parametrize("people", [3, 12])
def test_an_unchanged_full_run_costs_the_same_queries_and_no_calls(
    connection, hubspot, alice, people, later, django_assert_max_num_queries
):
    for n in range(people):
        conversation(alice, email=f"person{n}@example.org", reply="Sounds good")
    sync_run(connection)
    later(16)
    calls = len(hubspot.requests)
    with django_assert_max_num_queries(12):  # 11 measured, with 3 people and with 12
        run = sync_run(connection, full=True)
    assert (run.created, run.updated, run.skipped) == (0, 0, 4 * people)  # company, contact and two notes each
    assert len(hubspot.requests) == calls + 1  # only the search for HubSpot's own changes


def test_a_stage_moved_on_both_sides_takes_the_crms_when_it_is_newer(connection, hubspot, history, alice, later):
    sync_run(connection)
    remote = only(hubspot.by_property("deals", "salesdept_deal_id", str(history["deal"].pk)))
    later(5)
    deal_move(deal=history["deal"], stage=stage("Proposal sent"), actor=alice)  # ours first
    later(5)
    hubspot.move_deal(remote["id"], "closedlost")  # theirs later: theirs wins

    run = sync_run(connection)

    deal = Deal.objects.select_related("stage", "lead").get(pk=history["deal"].pk)
    assert (deal.stage.name, deal.lost_reason, deal.lead.status) == ("Lost", "Marked lost in HubSpot", S.LOST)
    assert hubspot.objects["deals"][remote["id"]]["properties"]["dealstage"] == "closedlost"
    run.refresh_from_db()
    assert "the CRM's move to Lost is newer and won" in " ".join(run.notes)


def test_a_long_reply_reaches_hubspot_whole(connection, hubspot, alice):
    from leads.services import activity_record
    from outreach.models import InboundMessage
    from salesdept import clock
    from tests.factories import SendingAccountFactory

    lead = conversation(alice, email="ines@example.org")
    text = "We are reviewing vendors this quarter. " * 30  # longer than the timeline keeps
    inbound = InboundMessage.objects.create(
        lead=lead, account=SendingAccountFactory(owner=alice), provider_id="in-long", text=text,
        received_at=clock.now(),
    )  # fmt: skip
    activity_record(verb="reply.received", lead=lead, inbound=inbound.pk, text=text[:500])

    sync_run(connection)

    reply = only([n for n in hubspot.objects["notes"].values() if "Reply from" in n["properties"]["hs_note_body"]])
    assert reply["properties"]["hs_note_body"] == f"Reply from {lead.full_name}:\n\n{text}"
