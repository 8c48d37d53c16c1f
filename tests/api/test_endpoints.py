"""Each endpoint of /api/v1/: what each role's token gets, bad input refused in JSON with nothing stored."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign
from leads.models import Activity, Lead
from outreach.models import InboundMessage, OutreachMessage
from salesdept import clock
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
Status = OutreachMessage.Status


def post(client, url: str, headers: dict, body: dict | None = None, method: str = "post"):
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json", headers=headers)


def error_of(response, status: int) -> dict:
    """The JSON error every refusal gives: a stable code and a message for a person."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] and body["message"]
    return body


# Leads


def test_a_rep_lists_only_her_own_leads_even_naming_another_owner(client, as_alice, pending, dans_pending, dan):
    response = client.get("/api/v1/leads", {"owner": dan.pk}, headers=as_alice)
    assert response.status_code == 200
    assert [lead["id"] for lead in response.json()["items"]] == []
    mine = client.get("/api/v1/leads", headers=as_alice).json()["items"]
    assert [lead["id"] for lead in mine] == [pending.lead_id]


def test_a_manager_lists_every_lead_and_narrows_by_owner(client, as_bob, pending, dans_pending, dan):
    every = client.get("/api/v1/leads", headers=as_bob).json()["items"]
    assert {lead["id"] for lead in every} == {pending.lead_id, dans_pending.lead_id}
    dans = client.get("/api/v1/leads", {"owner": dan.pk}, headers=as_bob).json()["items"]
    assert [lead["id"] for lead in dans] == [dans_pending.lead_id]


def test_it_pages_leads_by_cursor_without_offset_or_repeats(client, as_alice, campaign, alice):
    made = {LeadFactory(campaign=campaign, owner=alice, score=score).pk for score in range(30, 60)}
    seen, after, pages = [], "", 0
    with CaptureQueriesContext(connection) as queries:
        while True:
            page = client.get("/api/v1/leads", {"size": 7, "sort": "score", "after": after}, headers=as_alice).json()
            seen += [lead["id"] for lead in page["items"]]
            pages += 1
            if not (after := page["next_cursor"]):
                break
    assert sorted(seen) == sorted(made) and len(seen) == len(made)
    assert pages == 5
    scores = [Lead.objects.get(pk=pk).score for pk in seen]
    assert scores == sorted(scores, reverse=True)
    assert not [q["sql"] for q in queries.captured_queries if " OFFSET " in q["sql"].upper()]


def test_the_list_costs_the_same_queries_whatever_the_number_of_leads(
    client, as_alice, campaign, alice, django_assert_max_num_queries
):
    for _ in range(40):
        LeadFactory(campaign=campaign, owner=alice)
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/v1/leads", headers=as_alice).json()["items"]) == 40


def test_a_forged_cursor_shows_the_first_page(client, as_alice, pending):
    response = client.get("/api/v1/leads", {"after": "forged:cursor"}, headers=as_alice)
    assert [lead["id"] for lead in response.json()["items"]] == [pending.lead_id]


def test_it_filters_leads_as_the_list_page_does(client, as_alice, campaign, alice):
    low = LeadFactory(campaign=campaign, owner=alice, score=20)
    high = LeadFactory(campaign=campaign, owner=alice, score=90, status=Lead.Status.CONTACTED)
    assert [x["id"] for x in client.get("/api/v1/leads", {"min_score": 50}, headers=as_alice).json()["items"]] == [
        high.pk
    ]
    assert [
        x["id"] for x in client.get("/api/v1/leads", {"status": "qualified"}, headers=as_alice).json()["items"]
    ] == [low.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"min_score": 101}, "min_score"),
        ({"status": "vip"}, "status"),
        ({"size": 0}, "size"),
        ({"campaign": "x"}, "campaign"),
    ],
)
def test_it_refuses_a_bad_filter_in_json(client, as_alice, pending, query, field):
    body = error_of(client.get("/api/v1/leads", query, headers=as_alice), 400)
    assert body["code"] == "invalid"
    assert [error["field"] for error in body["errors"]] == [field]


def test_a_lead_comes_with_its_timeline(client, as_alice, pending):
    lead = pending.lead
    Activity.objects.create(lead=lead, verb="lead.found", payload={"source": "sandbox"})
    body = client.get(f"/api/v1/leads/{lead.pk}", headers=as_alice).json()
    assert body["first_name"] == "Lena"
    assert [event["verb"] for event in body["timeline"]] == ["lead.found"]


def test_another_reps_lead_does_not_exist_for_dan(client, as_dan, pending):
    url = f"/api/v1/leads/{pending.lead_id}"
    body = error_of(client.get(url, headers=as_dan), 404)
    assert body["code"] == "not_found" and "Lena" not in json.dumps(body)
    before = Activity.objects.count()
    error_of(post(client, f"{url}/do-not-contact", as_dan, {"reason": "mine now"}), 404)
    error_of(post(client, url, as_dan, {"label": "Sponsor"}, method="patch"), 404)
    assert Lead.objects.get(pk=pending.lead_id).status == Lead.Status.QUALIFIED
    assert Activity.objects.count() == before


def test_a_rep_relabels_and_scores_her_lead(client, as_alice, pending):
    url = f"/api/v1/leads/{pending.lead_id}"
    label = next(name for name in pending.campaign.label_names if name != pending.lead.label)
    response = post(client, url, as_alice, {"label": label, "score": 88, "score_reason": "met at the Summit"}, "patch")
    assert response.status_code == 200
    assert (response.json()["label"], response.json()["score_override"]) == (label, 88)
    lead = Lead.objects.get(pk=pending.lead_id)
    assert (lead.label, lead.score_override) == (label, 88)
    assert set(lead.activities.values_list("verb", flat=True)) == {"lead.relabelled", "lead.score_overridden"}


@pytest.mark.parametrize(
    "body",
    [
        {"label": "Astronaut"},
        {"score": 101, "score_reason": "great"},
        {"score": 80},  # no reason
        {"label": "Sponsor", "score": 80},  # a good label with a bad score: neither is saved
    ],
)
def test_a_bad_update_stores_nothing(client, as_alice, pending, body):
    before = Lead.objects.filter(pk=pending.lead_id).values("label", "score_override").get()
    error_of(post(client, f"/api/v1/leads/{pending.lead_id}", as_alice, body, "patch"), 400)
    assert Lead.objects.filter(pk=pending.lead_id).values("label", "score_override").get() == before
    assert not Activity.objects.exists()


def test_do_not_contact_cancels_the_leads_drafts(client, as_alice, pending):
    response = post(client, f"/api/v1/leads/{pending.lead_id}/do-not-contact", as_alice, {"reason": "asked us to stop"})
    assert response.status_code == 200 and response.json()["changed"] is True
    assert Lead.objects.get(pk=pending.lead_id).status == Lead.Status.DO_NOT_CONTACT
    pending.refresh_from_db()
    assert pending.status == Status.CANCELLED
    again = post(client, f"/api/v1/leads/{pending.lead_id}/do-not-contact", as_alice, {"reason": "again"})
    assert again.json()["changed"] is False


def test_do_not_contact_needs_a_reason(client, as_alice, pending):
    body = error_of(post(client, f"/api/v1/leads/{pending.lead_id}/do-not-contact", as_alice, {"reason": ""}), 400)
    assert "Say why" in body["message"]
    assert Lead.objects.get(pk=pending.lead_id).status == Lead.Status.QUALIFIED


# Messages


def test_the_queue_is_the_reps_own(client, as_alice, as_bob, pending, dans_pending, dan):
    assert [m["id"] for m in client.get("/api/v1/messages", {"rep": dan.pk}, headers=as_alice).json()["items"]] == []
    assert {m["id"] for m in client.get("/api/v1/messages", headers=as_bob).json()["items"]} == {
        pending.pk,
        dans_pending.pk,
    }


def test_the_queue_pages_by_cursor(client, as_alice, campaign, alice, alice_account):
    made = [
        MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice, score=s), account=alice_account).pk
        for s in (90, 80, 70, 60, 50)
    ]
    first = client.get("/api/v1/messages", {"size": 2}, headers=as_alice).json()
    second = client.get("/api/v1/messages", {"size": 2, "after": first["next_cursor"]}, headers=as_alice).json()
    third = client.get("/api/v1/messages", {"size": 2, "after": second["next_cursor"]}, headers=as_alice).json()
    assert [m["id"] for page in (first, second, third) for m in page["items"]] == made
    assert third["next_cursor"] is None


def test_a_rep_approves_her_draft_at_the_revision_she_read(client, as_alice, pending, alice):
    response = post(client, f"/api/v1/messages/{pending.pk}/approve", as_alice, {"revision": pending.revision})
    assert response.status_code == 200 and response.json()["status"] == "approved"
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == (Status.APPROVED, alice)
    assert pending.lead.activities.filter(verb="message.approved").count() == 1


def test_an_approval_with_an_edit_sends_the_edit(client, as_alice, pending):
    body = "Hi Lena, good to meet you at the Summit."
    post(client, f"/api/v1/messages/{pending.pk}/approve", as_alice, {"revision": pending.revision, "body": body})
    pending.refresh_from_db()
    assert (pending.status, pending.body) == (Status.APPROVED, body)


def test_a_stale_or_second_approval_is_a_409_that_changes_nothing(client, as_alice, pending):
    stale = error_of(post(client, f"/api/v1/messages/{pending.pk}/approve", as_alice, {"revision": 99}), 409)
    assert stale["code"] == "conflict" and "changed since" in stale["message"]
    post(client, f"/api/v1/messages/{pending.pk}/approve", as_alice, {"revision": pending.revision})
    again = error_of(
        post(client, f"/api/v1/messages/{pending.pk}/approve", as_alice, {"revision": pending.revision}), 409
    )
    assert "Already approved" in again["message"]
    assert Activity.objects.filter(verb="message.approved").count() == 1


def test_dan_cannot_decide_alices_draft(client, as_dan, pending):
    error_of(post(client, f"/api/v1/messages/{pending.pk}/approve", as_dan, {"revision": pending.revision}), 404)
    error_of(
        post(client, f"/api/v1/messages/{pending.pk}/reject", as_dan, {"revision": pending.revision, "reason": "no"}),
        404,
    )
    pending.refresh_from_db()
    assert pending.status == Status.PENDING_APPROVAL


def test_a_rep_rejects_with_a_reason_and_drops_the_lead(client, as_alice, pending):
    body = {"revision": pending.revision, "reason": "Not our buyer", "then": "drop"}
    response = post(client, f"/api/v1/messages/{pending.pk}/reject", as_alice, body)
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    pending.refresh_from_db()
    assert (pending.status, pending.reject_reason) == (Status.REJECTED, "Not our buyer")
    assert pending.lead.status == Lead.Status.DISQUALIFIED


@pytest.mark.parametrize(
    "body",
    [
        {"revision": 1, "reason": ""},
        {"revision": 1, "reason": "x" * 301},
        {"revision": 1, "reason": "no", "then": "explode"},
        {"reason": "no"},
        {"revision": "one", "reason": "no"},
    ],
)
def test_a_bad_rejection_is_a_400_that_changes_nothing(client, as_alice, pending, body):
    response = post(client, f"/api/v1/messages/{pending.pk}/reject", as_alice, body)
    assert error_of(response, 400)["code"] == "invalid"
    pending.refresh_from_db()
    assert pending.status == Status.PENDING_APPROVAL
    assert not Activity.objects.exists()


def test_a_body_that_is_not_json_is_a_400(client, as_alice, pending):
    response = client.post(
        f"/api/v1/messages/{pending.pk}/approve", "{revision:", content_type="application/json", headers=as_alice
    )
    assert error_of(response, 400)["code"] == "bad_request"
    pending.refresh_from_db()
    assert pending.status == Status.PENDING_APPROVAL


# Replies


def test_replies_are_the_reps_own_and_page_by_cursor(client, as_alice, as_dan, pending, alice_account):
    now = clock.now()
    made = [
        InboundMessage.objects.create(
            lead=pending.lead, account=alice_account, provider_id=f"in-{i}", text=f"Reply {i}",
            received_at=now - dt.timedelta(hours=i), intent="interested",
        ).pk
        for i in range(3)
    ]  # fmt: skip
    first = client.get("/api/v1/replies", {"size": 2}, headers=as_alice).json()
    second = client.get("/api/v1/replies", {"size": 2, "after": first["next_cursor"]}, headers=as_alice).json()
    assert [r["id"] for r in first["items"] + second["items"]] == made
    assert second["next_cursor"] is None
    assert client.get("/api/v1/replies", headers=as_dan).json()["items"] == []


# Campaigns and stats: a manager's, as their pages are


def test_a_manager_pauses_and_resumes_a_campaign(client, as_bob, campaign):
    paused = post(client, f"/api/v1/campaigns/{campaign.pk}/pause", as_bob)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert error_of(post(client, f"/api/v1/campaigns/{campaign.pk}/pause", as_bob), 409)["code"] == "conflict"
    resumed = post(client, f"/api/v1/campaigns/{campaign.pk}/resume", as_bob)
    assert resumed.json()["status"] == "active"
    assert list(Activity.objects.filter(campaign=campaign).values_list("verb", flat=True).order_by("pk")) == [
        "campaign.paused",
        "campaign.active",
    ]


def test_a_rep_cannot_touch_campaigns_or_stats(client, as_alice, campaign):
    for url in ("/api/v1/campaigns", f"/api/v1/campaigns/{campaign.pk}", "/api/v1/stats"):
        assert error_of(client.get(url, headers=as_alice), 403)["code"] == "forbidden"
    error_of(post(client, f"/api/v1/campaigns/{campaign.pk}/pause", as_alice), 403)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.ACTIVE


NEW_CAMPAIGN = {
    "name": "CFOs in Lisbon",
    "target": {"titles": ["CFO"], "locations": ["Lisbon"]},
    "labels": [{"name": "Speaker", "description": "Could speak at the Summit"}],
    "offer": "A speaking slot at the Finance Summit",
    "steps": [{"kind": "connection_note"}, {"kind": "message", "delay_days": 3, "instruction": "A short follow-up"}],
}


def test_a_manager_creates_a_draft_campaign_as_the_form_does(client, as_bob, alice_account):
    response = post(client, "/api/v1/campaigns", as_bob, NEW_CAMPAIGN | {"account_ids": [alice_account.pk]})

    assert response.status_code == 201, response.content
    campaign = Campaign.objects.get(pk=response.json()["id"])
    assert (campaign.name, campaign.status, campaign.target.titles) == ("CFOs in Lisbon", "draft", ["CFO"])
    assert list(campaign.steps.values_list("kind", "delay_days")) == [("connection_note", 0), ("message", 3)]
    assert list(campaign.sending_accounts.all()) == [alice_account]
    assert Activity.objects.filter(campaign=campaign, verb="campaign.created").exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"steps": []}, "steps"),
        ({"steps": [{"kind": "carrier_pigeon"}]}, "steps"),
        ({"min_score": 101}, "min_score"),
        ({"name": " "}, "name"),
        ({"target": {"titles": ["CFO"], "planet": ["Mars"]}}, ""),
        ({"colour": "red"}, ""),
    ],
)
def test_a_bad_campaign_is_a_400_that_stores_nothing(client, as_bob, change, field):
    body = error_of(post(client, "/api/v1/campaigns", as_bob, NEW_CAMPAIGN | change), 400)
    assert body["code"] == "invalid"
    if field:
        assert field in {error["field"] for error in body["errors"]}
    assert not Campaign.objects.filter(name__startswith="CFOs in Lisbon").exists()


def test_a_rep_cannot_create_a_campaign(client, as_alice):
    assert error_of(post(client, "/api/v1/campaigns", as_alice, NEW_CAMPAIGN), 403)["code"] == "forbidden"
    assert not Campaign.objects.filter(name="CFOs in Lisbon").exists()


def test_a_manager_lists_campaigns_with_their_lead_counts(client, as_bob, pending, dans_pending, campaign):
    [row] = client.get("/api/v1/campaigns", headers=as_bob).json()
    assert (row["id"], row["lead_count"]) == (campaign.pk, 2)


def test_stats_are_the_dashboards_numbers_for_the_period(client, as_bob, campaign, alice):
    from reporting.metrics import bump

    today = clock.today()
    bump(day=today, stage="sent", n=10, campaign_id=campaign.pk, rep_id=alice.pk)
    bump(day=today - dt.timedelta(days=40), stage="sent", n=5, campaign_id=campaign.pk, rep_id=alice.pk)
    body = client.get("/api/v1/stats", {"from": (today - dt.timedelta(days=6)).isoformat()}, headers=as_bob).json()
    assert body["end"] == today.isoformat()
    assert {row["key"]: row["count"] for row in body["funnel"]}["sent"] == 10
    wider = client.get("/api/v1/stats", {"from": (today - dt.timedelta(days=60)).isoformat()}, headers=as_bob).json()
    assert {row["key"]: row["count"] for row in wider["funnel"]}["sent"] == 15


def test_stats_refuse_a_period_that_ends_before_it_starts(client, as_bob):
    body = error_of(client.get("/api/v1/stats", {"from": "2026-05-10", "to": "2026-05-01"}, headers=as_bob), 400)
    assert "on or after the start date" in body["message"]


# Imports: people in bulk, through the import's own checks and dedupe


CSV = "First Name,Last Name,Company,LinkedIn\r\nJo,Doe,Acme,https://www.linkedin.com/in/jo-doe\r\n"


def test_a_rep_uploads_people_and_starts_the_import(
    client, as_alice, alice, campaign, django_capture_on_commit_callbacks
):
    created = post(client, "/api/v1/leads/imports", as_alice, {"csv": CSV, "campaign": campaign.pk})
    assert created.status_code == 201
    job = created.json()
    assert (job["status"], job["headers"]) == ("uploaded", ["First Name", "Last Name", "Company", "LinkedIn"])
    assert job["mapping"]["first_name"] == "First Name"
    with django_capture_on_commit_callbacks(execute=True):
        started = post(client, f"/api/v1/leads/imports/{job['id']}/start", as_alice, {})
    assert started.status_code == 200 and started.json()["status"] in ("queued", "running", "done")
    again = post(client, f"/api/v1/leads/imports/{job['id']}/start", as_alice, {})
    assert error_of(again, 409)["code"] == "conflict"
    assert client.get(f"/api/v1/leads/imports/{job['id']}", headers=as_alice).json()["id"] == job["id"]


def test_another_rep_cannot_see_or_start_alices_import(client, as_alice, as_dan, campaign):
    job = post(client, "/api/v1/leads/imports", as_alice, {"csv": CSV}).json()
    error_of(client.get(f"/api/v1/leads/imports/{job['id']}", headers=as_dan), 404)
    error_of(post(client, f"/api/v1/leads/imports/{job['id']}/start", as_dan, {}), 404)
    from leads.models import ImportJob

    assert ImportJob.objects.get(pk=job["id"]).status == ImportJob.Status.UPLOADED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"csv": ""}, "file"),  # the page's own message: the file is empty
        ({"csv": "just one line with no columns"}, "csv"),
        ({"csv": CSV, "campaign": 999999}, "campaign"),
    ],
)
def test_a_bad_file_stores_nothing(client, as_alice, body, field):
    from leads.models import ImportJob

    response = error_of(post(client, "/api/v1/leads/imports", as_alice, body), 400)
    assert field in [error["field"] for error in response["errors"]]
    assert not ImportJob.objects.exists()


def test_a_mapping_without_a_name_is_refused(client, as_alice):
    job = post(client, "/api/v1/leads/imports", as_alice, {"csv": CSV}).json()
    response = error_of(
        post(client, f"/api/v1/leads/imports/{job['id']}/start", as_alice, {"mapping": {"company": "Company"}}), 400
    )
    assert response["code"] == "invalid"
    assert client.get(f"/api/v1/leads/imports/{job['id']}", headers=as_alice).json()["status"] == "uploaded"


def test_a_manager_starts_a_search_and_follows_its_runs(client, as_bob, campaign, django_capture_on_commit_callbacks):
    from leads.models import SearchRun

    with django_capture_on_commit_callbacks() as started:
        response = post(client, f"/api/v1/campaigns/{campaign.pk}/search", as_bob)
    assert response.status_code == 202 and len(started) == 1  # the find → qualify → allocate chain, on commit
    assert Activity.objects.filter(campaign=campaign, verb="campaign.search_started").count() == 1
    SearchRun.objects.create(campaign=campaign, source="sandbox", wanted=10, found=4, stored=3)
    [run] = client.get(f"/api/v1/campaigns/{campaign.pk}/search-runs", headers=as_bob).json()
    assert (run["source"], run["found"], run["stored"], run["status"]) == ("sandbox", 4, 3, "running")


def test_a_paused_campaign_does_not_search(client, as_bob, as_alice, campaign):
    post(client, f"/api/v1/campaigns/{campaign.pk}/pause", as_bob)
    assert error_of(post(client, f"/api/v1/campaigns/{campaign.pk}/search", as_bob), 409)["code"] == "conflict"
    error_of(post(client, f"/api/v1/campaigns/{campaign.pk}/search", as_alice), 403)
    assert not Activity.objects.filter(verb="campaign.search_started").exists()
