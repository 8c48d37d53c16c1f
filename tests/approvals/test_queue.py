"""The queue's filters, keyset pages, bulk approval, undo and snooze, through the views."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.services import message_approve
from campaigns.models import Campaign
from leads.models import Activity, Lead
from outreach.models import InboundMessage, OutreachMessage
from outreach.sending import outreach_send_next
from tests.conftest import login
from tests.factories import CampaignFactory, CompanyFactory, LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
Status = OutreachMessage.Status


def draft(campaign, owner, account, **lead_fields) -> OutreachMessage:
    message_fields = {k: lead_fields.pop(k) for k in ("kind", "guardrail_findings", "body") if k in lead_fields}
    lead = LeadFactory(campaign=campaign, owner=owner, **lead_fields)
    return MessageFactory(lead=lead, campaign=campaign, account=account, **message_fields)


def shown(response) -> list[int]:
    """The ids of the items on the page, in order."""
    return [int(pk) for pk in re.findall(r'<article id="item-(\d+)" class="card item[" ]', response.text)]


def next_link(response) -> str | None:
    match = re.search(r'href="\?([^"]*after=[^"]+)"', response.text)
    return match.group(1).replace("&amp;", "&") if match else None


# Order and pages -------------------------------------------------------------------------------


def test_best_scored_first_and_a_hand_set_score_counts(client, alice, campaign, alice_account):
    low = draft(campaign, alice, alice_account, score=40)
    high = draft(campaign, alice, alice_account, score=90)
    overridden = draft(campaign, alice, alice_account, score=10, score_override=95)
    unscored = draft(campaign, alice, alice_account, score=None)
    response = login(client, alice).get("/approvals/")
    assert shown(response) == [overridden.pk, high.pk, low.pk, unscored.pk]


def test_keyset_pages_show_every_draft_once_even_with_equal_scores(client, alice, campaign, alice_account):
    drafts = [draft(campaign, alice, alice_account, score=score) for score in [50] * 30 + [80] * 12 + [None] * 5]
    login(client, alice)
    seen, query, pages = [], "", 0
    while True:
        response = client.get(f"/approvals/?{query}", **(HTMX if query else {}))
        seen += shown(response)
        pages += 1
        query = next_link(response)
        if not query:
            break
    assert pages == 2
    assert sorted(seen) == sorted(d.pk for d in drafts)
    assert len(seen) == len(set(seen))


def test_a_draft_decided_between_pages_neither_repeats_nor_hides_another(client, alice, bob, campaign, alice_account):
    drafts = [draft(campaign, alice, alice_account, score=60) for _ in range(30)]
    login(client, alice)
    first = client.get("/approvals/")
    first_ids = shown(first)
    decided = OutreachMessage.objects.get(pk=first_ids[3])
    message_approve(message=decided, actor=bob, revision=decided.revision)
    second = client.get(f"/approvals/?{next_link(first)}", **HTMX)
    assert sorted(first_ids + shown(second)) == sorted(d.pk for d in drafts)


def test_a_garbled_cursor_gives_the_first_page(client, alice, pending):
    response = login(client, alice).get("/approvals/?after=abc.%27;drop")
    assert response.status_code == 200
    assert shown(response) == [pending.pk]


@pytest.mark.parametrize("sort", ["oldest", "newest"])
def test_sorting_by_age(client, alice, campaign, alice_account, sort):
    drafts = [draft(campaign, alice, alice_account, score=score) for score in (10, 90, 50)]
    response = login(client, alice).get(f"/approvals/?sort={sort}")
    expected = [d.pk for d in drafts]
    assert shown(response) == (expected if sort == "oldest" else expected[::-1])


@pytest.mark.parametrize("who", ["alice", "bob"])  # a manager's cards also name each lead's rep
def test_queue_queries_do_not_grow_with_items(client, who, request, alice, campaign, alice_account):
    def queries_with(total: int) -> int:
        while OutreachMessage.objects.count() < total:
            draft(campaign, alice, alice_account)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/approvals/").status_code == 200
        return len(captured)

    login(client, request.getfixturevalue(who))
    one_page = queries_with(3)
    assert queries_with(20) == one_page
    paged = queries_with(26)  # a next page: one more statement counts what waits in all
    assert queries_with(70) == paged == one_page + 1
    # Session, user, roles, campaigns (the filters' choices and labels, one statement), the page's ids
    # (from indexes alone, test_queue_plans) then its cards, their conversations (two), the count, stopped
    # drafts, approved ones, the navigation; and a manager's filter of reps.
    assert paged <= {"alice": 12, "bob": 13}[who]


# Columns no card shows, some long: a lead's raw profile and posts read, a company's website summary,
# a campaign's brief, the draft as first written.
UNSHOWN_COLUMNS = (
    '"leads_lead"."raw_profile"',
    '"leads_lead"."activity"',
    '"leads_company"."summary"',
    '"campaigns_campaign"."internal_notes"',
    '"campaigns_campaign"."faq"',
    '"outreach_outreachmessage"."original_body"',
)


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_the_queue_reads_of_each_card_only_what_it_shows(client, who, request, campaign, alice, alice_account):
    Campaign.objects.filter(pk=campaign.pk).update(internal_notes="n" * 3000, faq=[{"q": "Why?", "a": "a" * 3000}])
    for _ in range(3):
        message = draft(campaign, alice, alice_account, company=CompanyFactory(summary="c" * 3000))
        Lead.objects.filter(pk=message.lead_id).update(
            raw_profile={"summary": "s" * 5000}, activity=[{"text": "a post " * 500}]
        )
    OutreachMessage.objects.filter(lead__owner=alice).update(original_body="o" * 2000)

    with CaptureQueriesContext(connection) as captured:
        response = login(client, request.getfixturevalue(who)).get("/approvals/")

    assert len(shown(response)) == 3 and "Company" in response.text and campaign.name in response.text
    read = " ".join(query["sql"] for query in captured)
    assert [column for column in UNSHOWN_COLUMNS if column in read] == []


def test_the_filters_read_the_campaigns_once_and_only_their_names_and_labels(client, bob, campaign):
    CampaignFactory(name="Spring summit", labels=[{"name": "Sponsor", "description": "Pays"}])

    with CaptureQueriesContext(connection) as captured:
        response = login(client, bob).get("/approvals/")

    reads = [query["sql"] for query in captured if 'FROM "campaigns_campaign"' in query["sql"]]
    assert len(reads) == 1 and '"internal_notes"' not in reads[0]
    assert ">Spring summit</option>" in response.text and '<option value="Sponsor">' in response.text


def test_it_reads_the_replies_its_answers_answer_in_one_query_for_the_page(client, alice, campaign, alice_account):
    def queries_with(answers: int) -> int:
        while OutreachMessage.objects.filter(reply_to__isnull=False).count() < answers:
            message = draft(campaign, alice, alice_account)
            reply = InboundMessage.objects.create(
                lead=message.lead,
                account=alice_account,
                provider_id=f"reply-{message.pk}",
                text="Tell me more about the agenda.",
                received_at=timezone.now(),
            )
            OutreachMessage.objects.filter(pk=message.pk).update(reply_to=reply)
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/approvals/")
        assert response.text.count("Suggested answer to") == answers
        return len(captured)

    login(client, alice)
    assert queries_with(1) == queries_with(5)


# Filters ---------------------------------------------------------------------------------------


def test_filters_narrow_the_queue(client, alice, bob, campaign, alice_account):
    other = CampaignFactory(owner=bob, accounts=[alice_account], name="Other campaign")
    speaker = draft(campaign, alice, alice_account, label="Speaker", score=80)
    sponsor = draft(campaign, alice, alice_account, label="Sponsor", score=30)
    email = draft(other, alice, alice_account, kind="email", score=55)
    warned = draft(
        campaign, alice, alice_account, guardrail_findings=[{"code": "x", "message": "m", "blocking": False}]
    )
    old = draft(campaign, alice, alice_account, score=65)
    OutreachMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=4))
    login(client, alice)

    def ids(query: str) -> set[int]:
        return set(shown(client.get(f"/approvals/?{query}")))

    assert ids(f"campaign={other.pk}") == {email.pk}
    assert ids("label=Sponsor") == {sponsor.pk}
    assert ids("kind=email") == {email.pk}
    assert ids("findings=some") == {warned.pk}
    assert warned.pk not in ids("findings=none")
    assert ids("age=3") == {old.pk}
    assert ids("score_min=60&score_max=90") == {speaker.pk, old.pk, warned.pk}  # the factory scores 70


def test_a_manager_filters_by_rep_and_a_rep_cannot(client, alice, dan, bob, pending, dans_pending):
    assert shown(login(client, bob).get(f"/approvals/?rep={dan.pk}")) == [dans_pending.pk]
    response = login(client, alice).get(f"/approvals/?rep={dan.pk}")
    assert shown(response) == [pending.pk]  # the field does not exist for reps: ignored


def test_an_invalid_filter_is_named_and_ignored(client, alice, pending):
    response = login(client, alice).get("/approvals/?score_min=500&kind=pigeon")
    assert response.status_code == 200
    assert "Ignored:" in response.text
    assert shown(response) == [pending.pk]


def test_snoozed_leads_and_their_drafts_leave_the_queue(client, alice, pending):
    Lead.objects.filter(pk=pending.lead_id).update(status=Lead.Status.SNOOZED)
    response = login(client, alice).get("/approvals/")
    assert shown(response) == []
    assert "No drafts are waiting for you" in response.text


# An item ---------------------------------------------------------------------------------------


def test_an_item_shows_the_counter_the_breakdown_and_the_conversation(client, alice, campaign, alice_account):
    first = draft(
        campaign, alice, alice_account, score_breakdown=[{"factor": "Title", "points": 30, "max": 30, "reason": "CFO"}]
    )
    OutreachMessage.objects.filter(pk=first.pk).update(status=Status.SENT, sent_at=timezone.now(), body="Hello there")
    InboundMessage.objects.create(
        lead=first.lead, account=alice_account, provider_id="r1", text="Tell me more please", received_at=timezone.now()
    )
    follow_up = MessageFactory(lead=first.lead, campaign=campaign, account=alice_account, step=2, kind="message")
    response = login(client, alice).get("/approvals/")
    assert shown(response) == [follow_up.pk]
    assert f"{len(follow_up.body)} / 8000 characters" in response.text
    assert "How the score of 70 was reached" in response.text and "CFO" in response.text
    assert "Conversation so far (2)" in response.text
    assert response.text.index("Hello there") < response.text.index("Tell me more please")


def test_an_item_opens_as_a_page_of_its_own(client, alice, pending):
    response = login(client, alice).get(f"/approvals/{pending.pk}/")
    assert "<html" in response.text and f'id="item-{pending.pk}"' in response.text


def test_a_body_over_the_limit_renders_a_disabled_approve_button(client, alice, pending):
    response = login(client, alice).post(
        f"/approvals/{pending.pk}/approve/", {"revision": 1, "body": "Hi Lena, " + "x" * 300}, **HTMX
    )
    assert "309 / 300 characters" in response.text
    assert re.search(r'data-action="approve" disabled', response.text)
    pending.refresh_from_db()
    assert pending.status == Status.PENDING_APPROVAL


def test_line_breaks_count_once_as_browsers_send_them(client, alice, pending):
    body = "Hi Lena,\r\n" + "y" * 290  # 300 characters once CRLF is one line break
    response = login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1, "body": body}, **HTMX)
    assert "Approved" in response.text
    pending.refresh_from_db()
    assert pending.body == "Hi Lena,\n" + "y" * 290


def test_a_decision_reads_what_it_changed_and_keeps_the_rest_of_the_card(client, alice, campaign, alice_account):
    """Approve and undo re-read the message alone: the card's lead, company, campaign and conversation stay as read.

    17 statements to approve: the session, the user and their role; the message with its card and
    its conversation (3); the voice, the prompt and the campaign's requests and target (4) for the
    checks; the conditional UPDATE, the timeline entry and its two counters (4); the re-read; and
    the savepoint pair. Undo is the same without the checks, and with the counters taken back (16).
    """
    first, second = (draft(campaign, alice, alice_account, score=70) for _ in range(2))
    login(client, alice)
    client.post(f"/approvals/{first.pk}/approve/", {"revision": 1}, **HTMX)  # reads the webhooks once per process

    with CaptureQueriesContext(connection) as approving:
        approved = client.post(f"/approvals/{second.pk}/approve/", {"revision": 1}, **HTMX)
    with CaptureQueriesContext(connection) as undoing:
        undone = client.post(f"/approvals/{second.pk}/undo/", **HTMX)

    assert f"Approved: the message to {second.lead}" in approved.text
    assert "Approval undone" in undone.text and 'name="revision" value="2"' in undone.text
    assert (len(approving), len(undoing)) == (17, 16)


# Undo ------------------------------------------------------------------------------------------


def test_undo_puts_the_draft_back_and_old_forms_go_stale(client, alice, pending):
    login(client, alice)
    client.post(f"/approvals/{pending.pk}/approve/", {"revision": 1}, **HTMX)
    response = client.post(f"/approvals/{pending.pk}/undo/", **HTMX)
    assert "Approval undone" in response.text
    assert 'data-action="approve"' in response.text  # editable again, in place
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by, pending.revision) == (Status.PENDING_APPROVAL, None, 2)
    assert Activity.objects.filter(verb="message.approval_undone", message=pending, actor=alice).exists()
    stale = client.post(f"/approvals/{pending.pk}/approve/", {"revision": 1}, **HTMX)
    assert "changed since you opened it" in stale.text


def test_undo_twice_changes_nothing_the_second_time(client, alice, pending):
    login(client, alice)
    client.post(f"/approvals/{pending.pk}/approve/", {"revision": 1}, **HTMX)
    client.post(f"/approvals/{pending.pk}/undo/", **HTMX)
    response = client.post(f"/approvals/{pending.pk}/undo/", **HTMX)
    assert "Nothing to undo" in response.text
    assert Activity.objects.filter(verb="message.approval_undone").count() == 1


def test_undo_is_refused_once_sending_started(client, alice, pending, alice_account, time_machine):
    time_machine.move_to(IN_WINDOW, tick=False)  # approved and sent at one instant in the window
    login(client, alice)
    client.post(f"/approvals/{pending.pk}/approve/", {"revision": 1}, **HTMX)
    assert outreach_send_next(account_id=alice_account.pk, now=IN_WINDOW) == "sent"
    response = client.post(f"/approvals/{pending.pk}/undo/", **HTMX)
    assert "Too late to undo" in response.text
    pending.refresh_from_db()
    assert pending.status == Status.SENT


def test_an_approval_waits_out_the_undo_window_before_a_send_may_claim_it(
    alice, pending, alice_account, settings, time_machine
):
    settings.APPROVAL_HOLD_SECONDS = 30
    now = IN_WINDOW
    time_machine.move_to(now, tick=False)
    message_approve(message=pending, actor=alice, revision=1)
    assert outreach_send_next(account_id=alice_account.pk, now=now + dt.timedelta(seconds=29)) == "idle"
    assert outreach_send_next(account_id=alice_account.pk, now=now + dt.timedelta(seconds=31)) == "sent"


def test_the_queue_lists_my_approvals_that_can_still_be_undone(client, alice, pending):
    login(client, alice)
    client.post(f"/approvals/{pending.pk}/approve/", {"revision": 1})
    response = client.get("/approvals/")
    assert "Approved by you, not sent yet (1)" in response.text
    assert f"/approvals/{pending.pk}/undo/" in response.text


def test_another_rep_cannot_undo_my_approval(client, alice, dan, pending):
    login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1})
    assert login(client, dan).post(f"/approvals/{pending.pk}/undo/").status_code == 404


# A Tuesday at 11:00 in London: inside the default sending window.
IN_WINDOW = dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.UTC)


# Snooze ----------------------------------------------------------------------------------------


def test_snooze_hides_the_lead_until_the_date_and_it_comes_back(client, alice, pending):
    from leads.services import leads_wake_snoozed

    response = login(client, alice).post(f"/approvals/{pending.pk}/snooze/", {"days": "14"}, **HTMX)
    assert "Snoozed" in response.text
    lead = Lead.objects.get(pk=pending.lead_id)
    assert lead.status == Lead.Status.SNOOZED
    assert lead.snoozed_until == timezone.localdate() + dt.timedelta(days=14)
    assert shown(client.get("/approvals/")) == []
    assert leads_wake_snoozed(today=timezone.localdate() + dt.timedelta(days=13)) == 0
    assert leads_wake_snoozed(today=timezone.localdate() + dt.timedelta(days=14)) == 1
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.QUALIFIED
    assert shown(client.get("/approvals/")) == [pending.pk]  # the draft was kept, not cancelled


def test_snooze_needs_a_known_duration(client, alice, pending):
    response = login(client, alice).post(f"/approvals/{pending.pk}/snooze/", {"days": "9999"}, **HTMX)
    assert "Say for how long" in response.text
    assert Lead.objects.get(pk=pending.lead_id).status == Lead.Status.QUALIFIED


def test_a_do_not_contact_lead_cannot_be_snoozed(client, alice, pending):
    Lead.objects.filter(pk=pending.lead_id).update(status=Lead.Status.DO_NOT_CONTACT)
    response = login(client, alice).post(f"/approvals/{pending.pk}/snooze/", {"days": "7"}, **HTMX)
    assert "nothing to snooze" in response.text


# Bulk approve ----------------------------------------------------------------------------------


def test_bulk_approve_first_names_the_count_then_approves(client, alice, campaign, alice_account):
    drafts = [draft(campaign, alice, alice_account) for _ in range(3)]
    items = [f"{d.pk}:{d.revision}" for d in drafts]
    login(client, alice)
    confirm = client.post("/approvals/bulk-approve/", {"items": items}, **HTMX)
    assert "Approve 3 drafts?" in confirm.text
    assert OutreachMessage.objects.filter(status=Status.APPROVED).count() == 0  # nothing yet
    done = client.post("/approvals/bulk-approve/", {"items": items, "confirm": "on"}, follow=True)
    assert "Approved 3 drafts." in done.text
    assert OutreachMessage.objects.filter(status=Status.APPROVED, decided_by=alice).count() == 3


def test_bulk_approve_leaves_out_changed_decided_and_foreign_drafts(
    client, alice, bob, campaign, alice_account, dans_pending
):
    fresh, changed, decided = (draft(campaign, alice, alice_account) for _ in range(3))
    OutreachMessage.objects.filter(pk=changed.pk).update(revision=2, body="Hi, new text")
    message_approve(message=decided, actor=bob, revision=1)
    items = [f"{m.pk}:1" for m in (fresh, changed, decided, dans_pending)]
    login(client, alice)
    confirm = client.post("/approvals/bulk-approve/", {"items": items}, **HTMX)
    assert "Approve 1 draft?" in confirm.text
    assert "the text changed since you saw it" in confirm.text
    done = client.post("/approvals/bulk-approve/", {"items": items, "confirm": "on"}, follow=True)
    assert "Approved 1 draft." in done.text
    assert "changed since you opened it" in done.text and "Already approved by Bob" in done.text
    assert set(OutreachMessage.objects.filter(decided_by=alice).values_list("pk", flat=True)) == {fresh.pk}
    dans_pending.refresh_from_db()
    assert dans_pending.status == Status.PENDING_APPROVAL


def test_bulk_approve_twice_approves_once(client, alice, pending):
    items = [f"{pending.pk}:1"]
    login(client, alice)
    client.post("/approvals/bulk-approve/", {"items": items, "confirm": "on"})
    again = client.post("/approvals/bulk-approve/", {"items": items, "confirm": "on"}, follow=True)
    assert "Already approved" in again.text
    assert Activity.objects.filter(verb="message.approved", message=pending).count() == 1


@pytest.mark.parametrize("items", [[], ["12"], ["a:b"], ["1:1;DROP"]])
def test_bulk_approve_refuses_a_garbled_selection(client, alice, pending, items):
    response = login(client, alice).post("/approvals/bulk-approve/", {"items": items, "confirm": "on"}, follow=True)
    assert response.status_code == 200
    assert "Select the drafts" in response.text or "out of date" in response.text
    pending.refresh_from_db()
    assert pending.status == Status.PENDING_APPROVAL


def test_bulk_approve_skips_a_draft_a_guardrail_blocked(client, alice, pending):
    OutreachMessage.objects.filter(pk=pending.pk).update(blocked=True)
    login(client, alice).post("/approvals/bulk-approve/", {"items": [f"{pending.pk}:1"], "confirm": "on"})
    pending.refresh_from_db()
    assert pending.status == Status.PENDING_APPROVAL


def badge(html: str) -> str:
    return re.search(r'<span id="pending-count"[^>]*>[^<]*</span>', html).group(0)


def test_the_count_badge_refreshes_itself(client, alice, pending):
    elsewhere = badge(login(client, alice).get("/leads/").text)
    assert 'hx-trigger="queueChanged from:body, every 60s"' in elsewhere  # after a decision on a lead's page
    on_the_queue = badge(client.get("/approvals/").text)
    assert 'hx-trigger="every 60s"' in on_the_queue  # after a decision the queue's total brings it
    refreshed = badge(client.get(re.search(r'hx-get="([^"]+)"', on_the_queue).group(1), **HTMX).text)
    assert 'hx-trigger="every 60s"' in refreshed  # and its minutely refresh does not start listening again


@pytest.mark.parametrize(("query", "total"), [("", 2), ("?kind=email", 1)])
def test_the_queues_total_brings_the_badge_with_it(client, alice, campaign, alice_account, query, total):
    draft(campaign, alice, alice_account, kind="email")
    draft(campaign, alice, alice_account, kind="connection_note")

    with CaptureQueriesContext(connection) as captured:
        response = login(client, alice).get(f"/approvals/total/{query}", **HTMX)

    counts = [query for query in captured if query["sql"].startswith("SELECT COUNT(*)")]
    assert len(counts) == (1 if not query else 2)  # unfiltered, the total is the badge's number
    assert f"{total} draft" in response.text
    assert badge(response.text).endswith('hx-swap-oob="true">2</span>')
    assert 'aria-label="2 drafts waiting"' in badge(response.text)


def test_the_badge_says_one_draft_in_the_singular(client, alice, pending):
    assert 'aria-label="1 draft waiting"' in badge(login(client, alice).get("/approvals/").text)


def test_a_suggested_answer_waits_in_the_queue_with_the_reply_it_answers(client, alice, pending, alice_account):
    reply = InboundMessage.objects.create(
        lead=pending.lead,
        account=alice_account,
        provider_id="r-answer",
        text="Sounds good, what are the dates?",
        received_at=timezone.now(),
        intent="requesting_info",
    )
    answer = MessageFactory(
        lead=pending.lead, campaign=pending.campaign, account=alice_account, kind="message", reply_to=reply
    )
    response = login(client, alice).get("/approvals/")
    assert answer.pk in shown(response)
    assert "Suggested answer to Lena" in response.text
    assert "Sounds good, what are the dates?" in response.text
