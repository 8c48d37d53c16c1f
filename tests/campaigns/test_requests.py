"""Campaign requests: a rep's plain words become a running campaign once a manager approves."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignRequest
from campaigns.requests import RequestError, campaign_request_approve, campaign_request_propose
from leads.models import Lead
from outreach.models import OutreachMessage
from salesdept.models import LLMCall, Notification
from tests.conftest import login
from tests.fakes.openai_server import json_reply

pytestmark = pytest.mark.django_db

TEXT = "Target 50 CFOs in fintech in London"
OFFER = "A seat on our CFO panel at the Fintech Summit, in front of 400 finance leaders."


@pytest.fixture
def offline(settings):
    settings.OPENAI_API_KEY = ""  # the offline template reads the request


def ask(client, rep, text=TEXT, capture=None):
    login(client, rep)
    with capture(execute=True):
        return client.post(reverse("approvals:request_new"), {"text": text})


def approval_post(request: CampaignRequest, **changes) -> dict:
    brief = {"offer": OFFER, "event": "the Fintech Summit", "call_to_action": "Shall I send you the programme?"}
    proposal = {**request.proposal, **brief, **changes}
    prefix = f"r{request.pk}-"
    data = {
        prefix + "name": proposal["name"],
        prefix + "offer": proposal["offer"],
        prefix + "event": proposal["event"],
        prefix + "call_to_action": proposal["call_to_action"],
        prefix + "size": proposal["size"],
        prefix + "labels": "\n".join(f"{label['name']}: {label['description']}" for label in proposal["labels"]),
        prefix + "seniorities": proposal["seniorities"],
        prefix + "accounts": changes.get("accounts", []),
        prefix + "lead_sources": changes.get("lead_sources", ["sandbox"]),
    }
    for name in ("titles", "industries", "locations", "company_sizes", "keywords", "exclusions"):
        data[prefix + name] = "\n".join(proposal[name])
    return data


def test_a_request_goes_from_plain_words_to_a_running_campaign(
    client, alice, bob, alice_account, offline, eager, django_capture_on_commit_callbacks
):
    response = ask(client, alice, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302

    request = CampaignRequest.objects.get()
    assert request.status == CampaignRequest.Status.PENDING  # read by the template backend
    assert request.proposal["titles"] == ["CFO", "Chief Financial Officer"]
    assert request.proposal["industries"] == ["Fintech"] and request.proposal["locations"] == ["London"]
    assert request.proposal["size"] == 50
    assert request.proposed_by == "template"
    assert Notification.objects.filter(user=bob, text__contains="asks for a campaign").exists()

    login(client, bob)
    page = client.get(reverse("approvals:requests"))
    assert TEXT in page.content.decode()
    assert f'name="r{request.pk}-name"' in page.content.decode()  # the manager edits the proposal

    data = approval_post(request, name="London fintech CFOs", accounts=[alice_account.pk])
    data[f"r{request.pk}-exclusions"] = "Intern\nAssistant"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("approvals:request_approve", args=[request.pk]), data)

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert (campaign.name, campaign.status, campaign.owner) == ("London fintech CFOs", "active", alice)
    assert campaign.target.titles == ["CFO", "Chief Financial Officer"]
    assert campaign.target.exclusions == ["Intern", "Assistant"]
    assert campaign.lead_goal == 50 and campaign.daily_lead_quota == 25
    assert list(campaign.sending_accounts.all()) == [alice_account]
    request.refresh_from_db()
    assert (request.status, request.campaign, request.decided_by) == ("approved", campaign, bob)
    # The search ran: leads found, qualified, given to the rep whose account sends, drafts waiting.
    assert campaign.search_runs.get().status == "done"
    assert Lead.objects.filter(campaign=campaign).count() == 25
    assert Lead.objects.filter(campaign=campaign, owner=alice).exists()
    assert OutreachMessage.objects.filter(campaign=campaign, status="pending_approval", lead__owner=alice).exists()
    assert Notification.objects.filter(user=alice, text__contains="was approved").exists()


def test_a_model_proposal_that_misreads_the_size_is_repaired(alice, llm):
    request = CampaignRequest.objects.create(requested_by=alice, text=TEXT)
    proposal = {
        "name": "Fintech CFOs, London",
        "titles": ["CFO"],
        "seniorities": ["c_suite"],
        "industries": ["Fintech"],
        "locations": ["London"],
        "company_sizes": [],
        "keywords": [],
        "exclusions": [],
        "labels": [{"name": "Speaker", "description": "Could speak"}],
        "angle": "Invite them to speak",
        "size": 500,
        "questions": [],
    }
    llm.queue(json_reply(proposal), json_reply({**proposal, "size": 50}))

    assert campaign_request_propose(request_id=request.pk)

    request.refresh_from_db()
    assert request.proposal["size"] == 50
    assert "size must be the number the request asks for" in str(llm.requests[1])
    assert request.proposed_by == LLMCall.objects.get().model


def test_a_model_that_answers_garbage_leaves_the_template_reading(alice, llm):
    request = CampaignRequest.objects.create(requested_by=alice, text=TEXT)
    llm.queue(json_reply({"name": "x"}), json_reply({"titles": "not a list"}))

    assert campaign_request_propose(request_id=request.pk)

    request.refresh_from_db()
    assert request.status == "pending" and request.proposed_by == "template"
    assert request.proposal["titles"] == ["CFO", "Chief Financial Officer"]


@pytest.mark.parametrize(
    ("text", "error"),
    [("", "Describe the campaign you need."), ("CFOs", "Say a little more"), ("x" * 1001, "under 1,000")],
)
def test_a_request_too_short_or_too_long_is_refused(client, alice, text, error, django_capture_on_commit_callbacks):
    response = ask(client, alice, text=text, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not CampaignRequest.objects.exists()


@pytest.fixture
def waiting(alice, offline) -> CampaignRequest:
    request = CampaignRequest.objects.create(requested_by=alice, text=TEXT)
    campaign_request_propose(request_id=request.pk)
    request.refresh_from_db()
    return request


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"labels": []}, "labels", "Give at least one label."),
        ({"size": 0}, "size", "Ask for at least 1 lead."),
        ({"size": 9000}, "size", "At most 5,000 leads"),
        ({"titles": [], "industries": [], "keywords": []}, "titles", "Give at least one title, industry or keyword"),
        ({"name": ""}, "name", "Give the campaign a name."),
        ({"lead_sources": []}, "lead_sources", "Choose where to search."),
        ({"offer": ""}, "offer", "Write the offer a prospect reads."),
        ({"call_to_action": ""}, "call_to_action", "Say what a message asks the prospect to do."),
    ],
)
def test_a_bad_edit_is_refused_and_the_request_keeps_waiting(client, bob, waiting, changes, field, error):
    login(client, bob)
    response = client.post(reverse("approvals:request_approve", args=[waiting.pk]), approval_post(waiting, **changes))
    assert response.status_code == 400
    assert error in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == "pending" and not Campaign.objects.exists()


def test_a_bad_company_size_from_the_campaign_rules_is_shown_on_the_form(client, bob, waiting):
    login(client, bob)
    data = approval_post(waiting)
    data[f"r{waiting.pk}-company_sizes"] = "lots"
    response = client.post(reverse("approvals:request_approve", args=[waiting.pk]), data)
    assert response.status_code == 400
    waiting.refresh_from_db()
    assert waiting.status == "pending" and not Campaign.objects.exists()


def test_two_managers_approving_at_once_make_one_campaign(bob, carol, waiting, django_capture_on_commit_callbacks):
    first = CampaignRequest.objects.get(pk=waiting.pk)
    second = CampaignRequest.objects.get(pk=waiting.pk)
    proposal = {key: value for key, value in waiting.proposal.items() if key != "questions"}
    with django_capture_on_commit_callbacks():
        campaign_request_approve(request=first, actor=bob, proposal=proposal, account_ids=[])
    with pytest.raises(RequestError, match="already approved"):
        campaign_request_approve(request=second, actor=carol, proposal=proposal, account_ids=[])
    assert Campaign.objects.count() == 1


def test_declining_needs_a_reason_and_tells_the_rep(client, bob, alice, waiting):
    login(client, bob)
    url = reverse("approvals:request_reject", args=[waiting.pk])
    client.post(url, {f"r{waiting.pk}-note": ""})
    waiting.refresh_from_db()
    assert waiting.status == "pending"

    client.post(url, {f"r{waiting.pk}-note": "We already run a fintech campaign"})
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decision_note, waiting.decided_by) == (
        "rejected",
        "We already run a fintech campaign",
        bob,
    )
    assert Notification.objects.filter(user=alice, text__contains="We already run a fintech campaign").exists()


def test_reps_ask_but_only_managers_decide(client, alice, dan, waiting):
    login(client, alice)
    assert (
        client.post(reverse("approvals:request_approve", args=[waiting.pk]), approval_post(waiting)).status_code == 403
    )
    assert client.post(reverse("approvals:request_reject", args=[waiting.pk]), {}).status_code == 403
    page = client.get(reverse("approvals:requests")).content.decode()
    assert TEXT in page and f'name="r{waiting.pk}-name"' not in page  # her own request, no decision form

    login(client, dan)
    assert TEXT not in client.get(reverse("approvals:requests")).content.decode()
    assert client.get(reverse("approvals:request_card", args=[waiting.pk])).status_code == 404


def test_a_request_being_read_polls_until_it_is_ready(client, alice):
    request = CampaignRequest.objects.create(requested_by=alice, text=TEXT)
    login(client, alice)
    row = client.get(reverse("approvals:request_card", args=[request.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in row and "Being read" in row


def test_the_requests_page_costs_the_same_queries_for_many_requests(
    client, bob, alice, offline, django_assert_max_num_queries
):
    for n in range(6):
        request = CampaignRequest.objects.create(requested_by=alice, text=f"Target {n + 10} CFOs in fintech in London")
        campaign_request_propose(request_id=request.pk)
    login(client, bob)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("approvals:requests"))
    assert page.content.decode().count("Approve: create the campaign") == 6


def test_approval_asks_for_what_prospects_read_prefilled_from_the_proposals_angle(client, alice, bob, llm):
    """The manager writes the offer, event and call to action; the rep's request stays internal."""
    request = CampaignRequest.objects.create(requested_by=alice, text=TEXT)
    proposal = {
        "name": "Fintech CFOs, London",
        "titles": ["CFO"],
        "seniorities": ["c_suite"],
        "industries": ["Fintech"],
        "locations": ["London"],
        "company_sizes": [],
        "keywords": [],
        "exclusions": [],
        "labels": [{"name": "Speaker", "description": "Could speak"}],
        "angle": "A place on our CFO panel, in front of 400 finance leaders.",
        "size": 50,
        "questions": [],
    }
    llm.queue(json_reply(proposal))
    campaign_request_propose(request_id=request.pk)
    request.refresh_from_db()

    page = login(client, bob).get(reverse("approvals:requests")).content.decode()
    offer_box = page.split(f'name="r{request.pk}-offer"')[1].split("</textarea>")[0]
    assert proposal["angle"] in offer_box  # pre-filled from the proposal, for the manager to edit
    assert f'name="r{request.pk}-event"' in page and f'name="r{request.pk}-call_to_action"' in page

    data = approval_post(request, offer="A seat on our CFO panel at the Fintech Summit.")
    data[f"r{request.pk}-labels"] = "Speaker: Could speak | a talk in front of 400 finance leaders"
    response = client.post(reverse("approvals:request_approve", args=[request.pk]), data)

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert campaign.offer == "A seat on our CFO panel at the Fintech Summit."
    assert (campaign.event, campaign.call_to_action) == ("the Fintech Summit", "Shall I send you the programme?")
    assert campaign.labels == [
        {"name": "Speaker", "description": "Could speak", "angle": "a talk in front of 400 finance leaders"}
    ]
    assert TEXT not in campaign.offer


def test_the_templates_proposal_never_offers_the_reps_request_to_prospects(waiting):
    assert waiting.proposal["angle"] != TEXT and "CFO" not in waiting.proposal["angle"]
    assert any("offer" in question for question in waiting.proposal["questions"])
