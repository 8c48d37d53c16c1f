"""Every page: happy path, anonymous → login, wrong role → 403/404, htmx fragment vs full page."""

import pytest

from campaigns.models import Campaign
from leads.models import Activity, Lead
from leads.services import activity_record
from outreach.models import OutreachMessage
from tests.conftest import login
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lead(pending):
    return pending.lead


PAGES = [
    ("/approvals/", "alice", 200),
    ("/leads/", "alice", 200),
    ("/inbox/", "alice", 200),
    ("/campaigns/", "bob", 200),
    ("/dashboard/", "bob", 200),
]


@pytest.mark.parametrize(("url", "who", "status"), PAGES)
def test_every_page_needs_login(client, url, who, status, pending):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"


@pytest.mark.parametrize(("url", "who", "status"), PAGES)
def test_every_page_opens_for_its_role(client, request, url, who, status, pending):
    response = login(client, request.getfixturevalue(who)).get(url)
    assert response.status_code == status
    assert "<html" in response.text


@pytest.mark.parametrize("url", ["/approvals/", "/leads/", "/inbox/", "/campaigns/", "/dashboard/"])
def test_users_without_a_role_get_403(client, mallory, url):
    assert login(client, mallory).get(url).status_code == 403


@pytest.mark.parametrize("url", ["/campaigns/", "/dashboard/"])
def test_reps_cannot_open_manager_pages(client, alice, url):
    assert login(client, alice).get(url).status_code == 403


def test_admins_see_manager_pages(client, carol, pending):
    assert login(client, carol).get("/dashboard/").status_code == 200


def test_lead_list_shows_only_the_reps_leads(client, alice, pending, dans_pending):
    response = login(client, alice).get("/leads/")
    assert pending.lead.full_name in response.text
    assert dans_pending.lead.full_name not in response.text


def test_lead_list_filters_and_renders_a_fragment_for_htmx(client, alice, campaign, pending):
    LeadFactory(campaign=campaign, owner=alice, first_name="Quentin", status=Lead.Status.NEW)
    response = login(client, alice).get("/leads/", {"q": "Quentin"}, **HTMX)
    assert 'id="lead-table"' in response.text
    assert "<html" not in response.text
    assert "Quentin" in response.text
    assert pending.lead.full_name not in response.text


def test_lead_list_ignores_an_unknown_status_filter(client, alice, pending):
    response = login(client, alice).get("/leads/", {"status": "bogus"})
    assert response.status_code == 200
    assert pending.lead.full_name in response.text


def test_lead_detail_shows_score_reasons_and_timeline(client, alice, lead):
    lead.score_breakdown = [{"factor": "title", "points": 30, "max": 30, "reason": "Title matches 'CFO'"}]
    lead.save(update_fields=["score_breakdown"])
    Activity.objects.create(lead=lead, verb="lead.found", payload={})
    response = login(client, alice).get(f"/leads/{lead.pk}/")
    assert response.status_code == 200
    assert "Title matches &#x27;CFO&#x27;" in response.text
    assert "Found by a lead search" in response.text


def test_lead_detail_of_another_reps_lead_is_404(client, alice, dans_pending):
    assert login(client, alice).get(f"/leads/{dans_pending.lead.pk}/").status_code == 404


def test_unknown_lead_is_404(client, alice):
    assert login(client, alice).get("/leads/999999/").status_code == 404


def test_do_not_contact_cancels_pending_messages(client, alice, lead, pending):
    response = login(client, alice).post(f"/leads/{lead.pk}/do-not-contact/", {"reason": "Asked by phone"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == Lead.Status.DO_NOT_CONTACT
    assert OutreachMessage.objects.get(pk=pending.pk).status == OutreachMessage.Status.CANCELLED
    assert Activity.objects.filter(verb="lead.do_not_contact", actor=alice, payload__reason="Asked by phone").exists()


def test_do_not_contact_needs_a_reason(client, alice, lead, pending):
    response = login(client, alice).post(f"/leads/{lead.pk}/do-not-contact/", {"reason": ""}, follow=True)
    assert "Say why this person must not be contacted" in response.text
    lead.refresh_from_db()
    assert lead.status != Lead.Status.DO_NOT_CONTACT


def test_xss_in_lead_names_is_shown_as_text(client, alice, campaign):
    LeadFactory(campaign=campaign, owner=alice, first_name="<script>alert(1)</script>")
    response = login(client, alice).get("/leads/")
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_dashboard_counts_people_at_each_stage(client, bob, campaign, alice):
    leads = [LeadFactory(campaign=campaign, owner=alice) for _ in range(3)]
    for lead in leads:
        activity_record(verb="lead.found", lead=lead, campaign=campaign)
    activity_record(verb="message.sent", lead=leads[0], campaign=campaign)
    activity_record(verb="message.sent", lead=leads[0], campaign=campaign)  # a follow-up: same person
    response = login(client, bob).get("/dashboard/", **HTMX)
    assert "<html" not in response.text
    [row] = [row for row in response.context["campaign_funnels"] if row["campaign_id"] == campaign.pk]
    stages = ["Found", "Qualified", "Drafted", "Approved", "Sent", "Accepted", "Replied", "Positive", "Meeting", "Won"]
    funnel = dict(zip(stages, row["counts"], strict=True))
    assert funnel["Found"] == 3
    assert funnel["Sent"] == 1
    assert funnel["Replied"] == 0


def test_campaign_page_starts_a_search(client, bob, campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(client, bob).post(f"/campaigns/{campaign.pk}/find-leads/")
    assert response.status_code == 302
    assert len(callbacks) == 1
    assert Activity.objects.filter(verb="campaign.search_started", campaign=campaign, actor=bob).exists()
    page = client.get(f"/campaigns/{campaign.pk}/")
    assert "Looking for leads" in page.text


def test_starting_a_draft_campaign_starts_its_search(client, bob, campaign, django_capture_on_commit_callbacks):
    """ "Start" used to wait for "Find leads now" or the next daily run."""
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.DRAFT)
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(client, bob).post(f"/campaigns/{campaign.pk}/status/", {"status": "active"})
    assert response.status_code == 302
    assert len(callbacks) == 1  # the find → qualify → allocate chain, once this commits
    assert Activity.objects.filter(verb="campaign.search_started", campaign=campaign, actor=bob).exists()


def test_resuming_a_paused_campaign_starts_no_second_search(client, bob, campaign, django_capture_on_commit_callbacks):
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    with django_capture_on_commit_callbacks() as callbacks:
        login(client, bob).post(f"/campaigns/{campaign.pk}/status/", {"status": "active"})
    assert not callbacks
    assert Campaign.objects.get(pk=campaign.pk).status == "active"


def test_campaign_can_be_paused_and_resumed(client, bob, campaign):
    login(client, bob).post(f"/campaigns/{campaign.pk}/status/", {"status": "paused"})
    assert Campaign.objects.get(pk=campaign.pk).status == "paused"
    response = client.post(f"/campaigns/{campaign.pk}/find-leads/", follow=True)
    assert "Only an active campaign can look for leads" in response.text
    client.post(f"/campaigns/{campaign.pk}/status/", {"status": "active"})
    assert Campaign.objects.get(pk=campaign.pk).status == "active"


def test_campaign_refuses_an_unknown_status(client, bob, campaign):
    response = login(client, bob).post(f"/campaigns/{campaign.pk}/status/", {"status": "deleted"}, follow=True)
    assert "is not a status a campaign can be moved to" in response.text
    assert Campaign.objects.get(pk=campaign.pk).status == "active"


def test_reps_cannot_start_a_search(client, alice, campaign):
    assert login(client, alice).post(f"/campaigns/{campaign.pk}/find-leads/").status_code == 403


# The dashboard also reads the pipeline's deals: open by stage, the stages, closed in the period.
PAGE_QUERIES = {"/dashboard/": 15}


@pytest.mark.parametrize("url", ["/campaigns/", "/dashboard/", "/leads/", "/inbox/"])
def test_list_pages_have_constant_queries(client, bob, campaign, alice, url, django_assert_max_num_queries):
    login(client, bob)
    ceiling = PAGE_QUERIES.get(url, 12)
    for _ in range(3):
        LeadFactory(campaign=campaign, owner=alice)
    with django_assert_max_num_queries(ceiling):
        client.get(url)
    for _ in range(30):
        LeadFactory(campaign=campaign, owner=alice)
    with django_assert_max_num_queries(ceiling):
        client.get(url)


def test_a_rep_overrides_the_score_and_it_is_kept(client, alice, lead):
    response = login(client, alice).post(f"/leads/{lead.pk}/score/", {"score": "95", "reason": "Met at a fair"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.score_override, lead.effective_score, lead.score) == (95, 95, 70)
    assert Activity.objects.filter(verb="lead.score_overridden", actor=alice, payload__score=95).exists()
    page = client.get(f"/leads/{lead.pk}/")
    assert "set by hand; rule score 70" in page.text


def test_a_score_out_of_range_is_refused(client, alice, lead):
    response = login(client, alice).post(f"/leads/{lead.pk}/score/", {"score": "140", "reason": "x"}, follow=True)
    assert "less than or equal to 100" in response.text
    lead.refresh_from_db()
    assert lead.score_override is None


def test_another_reps_lead_score_cannot_be_set(client, alice, dans_pending):
    response = login(client, alice).post(f"/leads/{dans_pending.lead.pk}/score/", {"score": "1", "reason": "x"})
    assert response.status_code == 404


def test_campaign_page_shows_the_model_cost(client, bob, campaign, lead):
    from salesdept.models import LLMCall

    LLMCall.objects.create(
        purpose="draft",
        backend="openai",
        model="m",
        prompt_version="v",
        cost_usd="0.0125",
        lead=lead,
        campaign=campaign,
        tokens_in=1000,
        tokens_out=250,
    )
    response = login(client, bob).get(f"/campaigns/{campaign.pk}/")
    assert "Language model: $0.0125 over 1 calls (1250 tokens), $0.0125 per lead." in response.text
