"""The rep's lead pages: the filtered, keyset-paged list and the lead with its conversation."""

import datetime as dt
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Activity, Lead
from leads.selectors import CURSOR_SALT, SORTS
from outreach.models import InboundMessage, OutreachMessage
from salesdept.keyset import cursor_dump
from tests.conftest import login
from tests.factories import CampaignFactory, CompanyFactory, LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def names(response) -> list[str]:
    """The lead names in the table, top to bottom."""
    return [unescape(name) for name in re.findall(r'<a href="/leads/\d+/">([^<]*)</a>', response.text)]


def next_link(response) -> str | None:
    found = re.search(r'<a href="([^"]*)" hx-get="[^"]*" [^>]*rel="next">Next</a>', response.text)
    return "/leads/" + unescape(found.group(1)) if found else None


def reply(lead: Lead, account, text: str, at: dt.datetime, **analysis) -> InboundMessage:
    return InboundMessage.objects.create(
        lead=lead, account=account, provider_id=f"in-{lead.pk}-{at.timestamp()}", text=text, received_at=at, **analysis
    )


# The list: filters


@pytest.mark.parametrize(
    ("field", "value", "query"),
    [
        ("first_name", "Quentin", "quent"),
        ("last_name", "Okafor", "okafor"),
        ("email", "q.okafor@bank.example", "bank.example"),
        ("position", "Head of Treasury", "treasury"),
    ],
)
def test_it_searches_name_email_and_position(client, alice, campaign, pending, field, value, query):
    LeadFactory(campaign=campaign, owner=alice, **{"first_name": "Other", field: value})
    response = login(client, alice).get("/leads/", {"q": query})
    assert len(names(response)) == 1
    assert pending.lead.full_name not in names(response)


def test_it_searches_company_names(client, alice, campaign, pending):
    LeadFactory(campaign=campaign, owner=alice, first_name="Quentin", company=CompanyFactory(name="Zebra Bank"))
    assert names(login(client, alice).get("/leads/", {"q": "zebra"})) == ["Quentin Park"]


@pytest.mark.parametrize(
    "query",
    ["Jonas Tanaka", "tanaka jonas", "  Jonas   Tanaka ", "jonas acme", "Tanaka kite.example", "Acme Robotics"],
)
def test_it_finds_a_lead_by_full_name_in_either_order_or_with_company_and_email(client, alice, campaign, query):
    company = CompanyFactory(name="Acme Robotics")
    LeadFactory(
        campaign=campaign, owner=alice, first_name="Jonas", last_name="Tanaka", company=company, email="jt@kite.example"
    )
    LeadFactory(campaign=campaign, owner=alice, first_name="Jonas", last_name="Berg")
    LeadFactory(campaign=campaign, owner=alice, first_name="Mei", last_name="Tanaka")
    assert names(login(client, alice).get("/leads/", {"q": query})) == ["Jonas Tanaka"]


def test_it_finds_nobody_when_one_word_of_the_search_matches_nothing(client, alice, campaign):
    LeadFactory(campaign=campaign, owner=alice, first_name="Jonas", last_name="Tanaka")
    assert names(login(client, alice).get("/leads/", {"q": "Jonas Smith"})) == []


def test_it_filters_by_status(client, alice, campaign, pending):
    LeadFactory(campaign=campaign, owner=alice, first_name="Quentin", status=Lead.Status.INTERESTED)
    assert names(login(client, alice).get("/leads/", {"status": "interested"})) == ["Quentin Park"]


def test_it_filters_by_campaign(client, alice, bob, campaign, pending):
    other = CampaignFactory(owner=bob, name="Retail push")
    LeadFactory(campaign=other, owner=alice, first_name="Quentin")
    response = login(client, alice).get("/leads/", {"campaign": other.pk})
    assert names(response) == ["Quentin Park"]


def test_it_offers_a_rep_only_the_campaigns_of_their_leads(client, alice, bob, campaign, pending):
    CampaignFactory(owner=bob, name="Someone else's campaign")
    response = login(client, alice).get("/leads/")
    assert campaign.name in response.text
    assert "Someone else&#x27;s campaign" not in response.text
    assert "Someone else&#x27;s campaign" in login(client, bob).get("/leads/").text


def test_it_explains_a_campaign_it_cannot_filter_by(client, alice, bob, campaign, pending):
    other = CampaignFactory(owner=bob)
    response = login(client, alice).get("/leads/", {"campaign": other.pk})
    assert "That campaign is not one you can filter by." in response.text
    assert names(response) == [pending.lead.full_name]


def test_it_filters_by_label_ignoring_case(client, alice, campaign, pending):
    LeadFactory(campaign=campaign, owner=alice, first_name="Quentin", label="Sponsor")
    response = login(client, alice).get("/leads/", {"label": "sponsor"})
    assert names(response) == ["Quentin Park"]
    assert '<option value="Sponsor">' in response.text  # suggested from the campaign's labels


def test_it_filters_leads_that_need_review(client, alice, campaign, pending):
    LeadFactory(campaign=campaign, owner=alice, first_name="Quentin", needs_review=True)
    response = login(client, alice).get("/leads/", {"needs_review": "on"})
    assert names(response) == ["Quentin Park"]
    assert "needs review" in response.text


def test_it_filters_by_effective_score(client, alice, campaign, pending):
    LeadFactory(campaign=campaign, owner=alice, first_name="Low", score=20)
    LeadFactory(campaign=campaign, owner=alice, first_name="Raised", score=20, score_override=90)
    LeadFactory(campaign=campaign, owner=alice, first_name="Lowered", score=95, score_override=10)
    LeadFactory(campaign=campaign, owner=alice, first_name="Unscored", score=None)
    login(client, alice)
    assert sorted(names(client.get("/leads/", {"min_score": 80}))) == ["Raised Park"]
    assert sorted(names(client.get("/leads/", {"max_score": 20}))) == ["Low Park", "Lowered Park"]
    assert sorted(names(client.get("/leads/", {"min_score": 50, "max_score": 75}))) == [pending.lead.full_name]


def test_it_marks_a_hand_set_score(client, alice, campaign):
    LeadFactory(campaign=campaign, owner=alice, score=20, score_override=90)
    response = login(client, alice).get("/leads/")
    assert "by hand" in response.text
    assert "rule score 20" in response.text


@pytest.mark.parametrize("value", ["abc", "-5", "101", "1.5"])
def test_it_explains_an_invalid_minimum_score_and_does_not_filter_by_it(client, alice, campaign, pending, value):
    LeadFactory(campaign=campaign, owner=alice, first_name="Quentin", score=10, status=Lead.Status.NEW)
    response = login(client, alice).get("/leads/", {"min_score": value, "status": "new"})
    assert response.status_code == 200
    assert "Minimum score must be a whole number from 0 to 100." in response.text
    assert names(response) == ["Quentin Park"]  # the valid status filter still applies


def test_it_explains_a_minimum_above_the_maximum(client, alice, campaign, pending):
    response = login(client, alice).get("/leads/", {"min_score": 80, "max_score": 20})
    assert "Maximum score must be at least the minimum score." in response.text
    assert names(response) == []  # the minimum still applies; pending's lead scores 70


def test_it_ignores_an_unknown_sort(client, alice, pending):
    response = login(client, alice).get("/leads/", {"sort": "salary"})
    assert response.status_code == 200
    assert names(response) == [pending.lead.full_name]


# The list: owners


def test_it_lets_a_manager_filter_by_owner(client, bob, alice, dan, pending, dans_pending):
    login(client, bob)
    assert names(client.get("/leads/", {"owner": dan.pk})) == [dans_pending.lead.full_name]
    assert sorted(names(client.get("/leads/"))) == sorted([pending.lead.full_name, dans_pending.lead.full_name])
    assert 'name="owner"' in client.get("/leads/").text


def test_it_lets_a_manager_find_unallocated_leads(client, bob, campaign, pending):
    LeadFactory(campaign=campaign, owner=None, first_name="Nobody")
    response = login(client, bob).get("/leads/", {"owner": "none"})
    assert names(response) == ["Nobody Park"]
    assert "Not allocated" in response.text


def test_it_never_shows_a_rep_another_reps_leads_through_the_owner_filter(client, alice, dan, pending, dans_pending):
    response = login(client, alice).get("/leads/", {"owner": dan.pk})
    assert names(response) == [pending.lead.full_name]
    assert 'name="owner"' not in response.text
    assert dans_pending.lead.full_name not in response.text


def test_it_shows_each_lead_with_its_columns(client, alice, campaign):
    LeadFactory(
        campaign=campaign,
        owner=alice,
        first_name="Quentin",
        position="Head of Treasury",
        company=CompanyFactory(name="Zebra Bank"),
        label="Sponsor",
        status=Lead.Status.INTERESTED,
    )
    text = login(client, alice).get("/leads/").text
    for shown in ["Quentin Park", "Head of Treasury", "Zebra Bank", campaign.name, "Alice Rivera", "Sponsor"]:
        assert shown in text
    assert "Interested" in text
    assert timezone.localdate().strftime("%d %b %Y") in text


# The list: keyset pages


def test_it_pages_by_score_with_ties_showing_every_lead_once(client, alice, campaign):
    leads = [LeadFactory(campaign=campaign, owner=alice, score=[50, 60, 60, 70][n % 4]) for n in range(103)]
    LeadFactory(campaign=campaign, owner=alice, score=60, score_override=None)  # 104 leads
    Lead.objects.filter(pk=leads[0].pk).update(score=None)  # one unscored: it comes last
    login(client, alice)
    url, seen, scores = "/leads/?sort=score", [], []
    while url:
        response = client.get(url)
        page = response.context["page"]
        seen += [lead.pk for lead in page]
        scores += [lead.ranked_score for lead in page]
        url = next_link(response)
    assert len(seen) == len(set(seen)) == Lead.objects.count() == 104
    assert scores == sorted(scores, reverse=True)
    assert seen[-1] == leads[0].pk


def test_it_pages_newest_first_when_leads_share_a_creation_time(client, alice, campaign):
    for _ in range(60):
        LeadFactory(campaign=campaign, owner=alice)
    Lead.objects.update(created_at=timezone.now())
    login(client, alice)
    first = client.get("/leads/")
    second = client.get(next_link(first))
    ids = [lead.pk for lead in first.context["page"]] + [lead.pk for lead in second.context["page"]]
    assert len(first.context["page"]) == 50
    assert sorted(ids, reverse=True) == ids
    assert set(ids) == set(Lead.objects.values_list("pk", flat=True))
    assert next_link(second) is None
    assert "50 shown" in first.text
    assert "10 shown" in second.text
    assert "First page" in second.text


def test_it_keeps_the_filters_on_the_next_page(client, alice, campaign):
    for _ in range(55):
        LeadFactory(campaign=campaign, owner=alice, label="Sponsor")
    LeadFactory(campaign=campaign, owner=alice, label="Speaker")
    login(client, alice)
    link = next_link(client.get("/leads/", {"label": "Sponsor", "sort": "score"}))
    assert "label=Sponsor" in link and "sort=score" in link
    assert len(client.get(link).context["page"]) == 5


@pytest.mark.parametrize(
    "after",
    ["garbage", "W10:1abc:xyz", "", "%00" * 10, "eyJ9"],
)
def test_it_shows_the_first_page_for_a_garbled_cursor(client, alice, campaign, after):
    for _ in range(55):
        LeadFactory(campaign=campaign, owner=alice)
    response = login(client, alice).get("/leads/", {"after": after})
    assert response.status_code == 200
    assert len(response.context["page"]) == 50
    assert response.context["page"].is_first


def test_it_shows_the_first_page_for_a_forged_or_mismatched_cursor(client, alice, campaign):
    leads = [LeadFactory(campaign=campaign, owner=alice) for _ in range(55)]
    login(client, alice)
    forged = cursor_dump(leads[10].created_at, leads[10].pk, keyset=SORTS["newest"], salt="not-the-salt")
    assert client.get("/leads/", {"after": forged}).context["page"].is_first
    # A real cursor of the newest sort means nothing to the score sort.
    newest = cursor_dump(leads[10].created_at, leads[10].pk, keyset=SORTS["newest"], salt=CURSOR_SALT)
    assert not client.get("/leads/", {"after": newest}).context["page"].is_first
    assert client.get("/leads/", {"after": newest, "sort": "score"}).context["page"].is_first


def test_it_never_counts_the_leads(client, alice, campaign, pending):
    with CaptureQueriesContext(connection) as queries:
        login(client, alice).get("/leads/", {"sort": "score"})
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts  # the badges count (drafts, notifications): a count of leads would be among them
    assert not [sql for sql in counts if 'AS "__count" FROM "leads_lead"' in sql]


# The list: htmx, method, performance, escaping


def test_it_renders_only_the_table_for_htmx_with_its_errors_and_pager(client, alice, campaign, pending):
    for _ in range(55):
        LeadFactory(campaign=campaign, owner=alice)
    response = login(client, alice).get("/leads/", {"min_score": "x"}, **HTMX)
    assert response.text.lstrip().startswith('<section id="lead-table">')
    assert "<html" not in response.text
    assert "<form" not in response.text
    assert "Minimum score must be a whole number" in response.text
    assert next_link(response)


def test_it_renders_the_whole_page_for_a_history_restore(client, alice, pending):
    response = login(client, alice).get("/leads/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.text


def test_it_refuses_post(client, alice):
    assert login(client, alice).post("/leads/").status_code == 405


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_it_reads_the_same_number_of_queries_for_many_rows(client, request, campaign, alice, who, pending):
    user = request.getfixturevalue(who)
    login(client, user)
    client.get("/leads/")  # the session and first-request work, out of the count
    with CaptureQueriesContext(connection) as few:
        client.get("/leads/", {"sort": "score", "label": "Speaker"})
    for n in range(60):
        LeadFactory(campaign=CampaignFactory(owner=user) if n % 10 == 0 else campaign, owner=alice)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/leads/", {"sort": "score", "label": "Speaker"})
    assert len(response.context["page"]) == 50
    assert len(many) == len(few)


def test_it_stays_within_its_query_budget(client, alice, campaign, django_assert_max_num_queries):
    for _ in range(60):
        LeadFactory(campaign=campaign, owner=alice)
    login(client, alice)
    with django_assert_max_num_queries(7):  # session, user, nav counts (one), page (four)
        client.get("/leads/", {"sort": "score"})


def test_it_escapes_what_leads_say_about_themselves(client, alice, campaign):
    LeadFactory(
        campaign=campaign,
        owner=alice,
        first_name="<script>alert(1)</script>",
        position="<img src=x onerror=alert(2)>",
        label="<b>x</b>",
    )
    text = login(client, alice).get("/leads/", {"q": "<script>"}).text
    assert "<script>alert(1)</script>" not in text
    assert "<img src=x" not in text
    assert "<b>x</b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


# The lead


@pytest.fixture
def conversation(pending, alice, bob, alice_account):
    """Step 1 sent and approved by alice, a reply, step 2 drafted and waiting, a later reply."""
    lead, campaign = pending.lead, pending.campaign
    start = timezone.now() - dt.timedelta(days=5)
    OutreachMessage.objects.filter(pk=pending.pk).update(
        status=OutreachMessage.Status.SENT,
        body="Hi Lena, first touch.",
        decided_by=alice,
        decided_at=start,
        sent_at=start + dt.timedelta(hours=1),
        created_at=start - dt.timedelta(hours=1),
    )
    reply(lead, alice_account, "Tell me more about the Summit.", start + dt.timedelta(days=1), intent="requesting_info")
    follow_up = MessageFactory(lead=lead, campaign=campaign, account=alice_account, step=2, body="Here is the agenda.")
    OutreachMessage.objects.filter(pk=follow_up.pk).update(created_at=start + dt.timedelta(days=2))
    reply(lead, alice_account, "Can we talk Tuesday?", start + dt.timedelta(days=3), intent="interested")
    return lead


def test_it_shows_the_conversation_in_time_order_newest_last(client, alice, conversation):
    text = login(client, alice).get(f"/leads/{conversation.pk}/").text
    order = ["Hi Lena, first touch.", "Tell me more about the Summit.", "Here is the agenda.", "Can we talk Tuesday?"]
    positions = [text.index(line) for line in order]
    assert positions == sorted(positions)


def test_it_shows_who_approved_each_message_and_what_each_reply_means(client, alice, conversation):
    text = login(client, alice).get(f"/leads/{conversation.pk}/").text
    assert "approved by Alice Rivera" in text
    assert "Waiting for approval" in text
    assert "not approved yet" in text
    assert "Step 2" in text
    assert "Requesting info" in text
    assert "intent: <strong>Interested</strong>" in text


def test_it_shows_the_lead_profile_score_reasons_and_activity(client, alice, lead_with_history):
    text = login(client, alice).get(f"/leads/{lead_with_history.pk}/").text
    for shown in ["Alice Rivera", "sandbox", "Qualified", "CFO at a fintech, posts about forecasting"]:
        assert shown in text
    assert "Title matches" in text
    assert "Draft approved" in text  # the activity, in words
    assert f'action="/leads/{lead_with_history.pk}/do-not-contact/"' in text
    assert f'action="/leads/{lead_with_history.pk}/score/"' in text


@pytest.fixture
def lead_with_history(pending, alice):
    lead = pending.lead
    lead.score_breakdown = [{"factor": "title", "points": 30, "max": 30, "reason": "Title matches CFO"}]
    lead.save(update_fields=["score_breakdown"])
    Activity.objects.create(lead=lead, message=pending, actor=alice, verb="message.approved")
    return lead


def test_it_reads_a_constant_number_of_queries_for_the_lead(client, alice, conversation, alice_account):
    login(client, alice)
    client.get(f"/leads/{conversation.pk}/")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/leads/{conversation.pk}/")
    for step in range(3, 13):
        message = MessageFactory(lead=conversation, campaign=conversation.campaign, step=step, decided_by=alice)
        Activity.objects.create(lead=conversation, message=message, actor=alice, verb="message.drafted")
        reply(conversation, alice_account, f"reply {step}", timezone.now() + dt.timedelta(minutes=step))
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/leads/{conversation.pk}/")
    assert len(response.context["conversation"]) == 24
    assert len(many) == len(few)


def test_it_escapes_messages_replies_and_insights(client, alice, pending, alice_account):
    lead = pending.lead
    Lead.objects.filter(pk=lead.pk).update(insight="<script>alert(1)</script>", linkedin_url="javascript:alert(3)")
    OutreachMessage.objects.filter(pk=pending.pk).update(body="<img src=x onerror=alert(2)>")
    reply(lead, alice_account, "<script>alert(4)</script>", timezone.now())
    text = login(client, alice).get(f"/leads/{lead.pk}/").text
    assert "<script>alert" not in text
    assert "<img src=x" not in text
    assert 'href="javascript:' not in text
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in text


def test_it_hides_another_reps_lead(client, alice, dans_pending):
    assert login(client, alice).get(f"/leads/{dans_pending.lead.pk}/").status_code == 404


def test_it_shows_a_manager_any_lead(client, bob, dans_pending):
    assert login(client, bob).get(f"/leads/{dans_pending.lead.pk}/").status_code == 200


def test_it_refuses_users_without_a_role(client, mallory, pending):
    assert login(client, mallory).get(f"/leads/{pending.lead.pk}/").status_code == 403


def test_a_rep_books_a_meeting_and_the_dashboard_counts_it(client, alice, bob, campaign, pending):
    from reporting.models import DailyCount

    lead = pending.lead
    Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.REPLIED)
    login(client, alice)
    assert "Meeting booked</button>" in client.get(f"/leads/{lead.pk}/").text

    response = client.post(f"/leads/{lead.pk}/meeting/", follow=True)

    assert "Meeting with" in response.text
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.MEETING
    pending.refresh_from_db()
    assert pending.status == "cancelled"  # the sequence stops
    assert DailyCount.objects.get(stage="meeting").count == 1
    again = client.post(f"/leads/{lead.pk}/meeting/", follow=True)
    assert "already “meeting”" in again.text
    assert DailyCount.objects.get(stage="meeting").count == 1


def test_a_new_lead_cannot_have_a_meeting_booked(client, alice, campaign):
    lead = LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.QUALIFIED)
    login(client, alice)
    assert "Meeting booked</button>" not in client.get(f"/leads/{lead.pk}/").text
    client.post(f"/leads/{lead.pk}/meeting/")
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.QUALIFIED
