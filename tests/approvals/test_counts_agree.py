"""Every count a page shows of the same thing agrees, after each decision (issue 16).

The queue's "N drafts waiting", the navigation badge, the count the header refreshes from, the
dashboard's backlog, the funnel's "Approved" (live, and as a rebuild from the log finds it) and
the campaigns list's columns are read from the rendered pages, as a person reads them, and held
against each other and against the truth: the drafts the queue lists, the leads stored.
"""

import re

import pytest
from django.test import Client

from campaigns.allocation import campaign_allocate
from leads.models import Lead
from outreach.models import OutreachMessage
from reporting.metrics import metrics_rebuild
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory
from tests.reporting.test_dashboard import tables

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
BLOCKING = [{"code": "placeholder", "message": "An unfilled placeholder: {first_name}", "blocking": True}]


def number(pattern: str, html: str) -> int:
    match = re.search(pattern, html, re.S)
    assert match, f"no {pattern!r} on the page"
    return int(match.group(1))


def listed(html: str) -> int:
    """The drafts the queue lists to decide: undecided items in its list (not the ones to rewrite)."""
    section = re.search(r'<section id="queue-list".*?</section>', html, re.S).group(0)
    return len(re.findall(r'<article id="item-\d+" class="card item"', section))


def badge(html: str) -> int:
    return number(r'<span id="pending-count"[^>]*>(\d+)</span>', html)


def queue_counts(client) -> dict[str, int]:
    """What one person's queue says is waiting: the list, its header, the badge, the header's refresh."""
    page = client.get("/approvals/").text
    refresh = re.search(r'id="queue-total" hx-get="([^"]+)"', page)
    assert refresh, "the header refreshes itself after a decision"
    refreshed = client.get(refresh.group(1).replace("&amp;", "&"), **HTMX).text
    return {
        "listed": listed(page),
        "header": number(r'id="queue-total"[^>]*>(\d+) drafts? waiting', page),
        "badge": badge(page),
        "count": badge(client.get("/approvals/count/", **HTMX).text),
        "header refreshed": number(r'id="queue-total"[^>]*>(\d+) drafts? waiting', refreshed),
    }


def dashboard_counts(client) -> dict[str, int]:
    response = client.get("/dashboard/")
    page = tables(response)
    backlog = dict(row for row in page["backlog-table"] if len(row) == 2)
    total = page["funnel-table"][-1]
    assert total[0] == "All campaigns"
    return {
        "backlog": int(backlog["Drafts waiting now"]),
        "badge": badge(response.content.decode()),
        "approved": int(total[page["funnel-table"][0].index("Approved")]),
    }


def campaign_columns(client, campaign) -> dict[str, int]:
    (table,) = tables(client.get("/campaigns/")).values()
    head, *rows = table
    (row,) = [row for row in rows if row[0] == campaign.name]
    return {"leads": int(row[head.index("Leads")]), "unallocated": int(row[head.index("Qualified, unallocated")])}


def test_it_shows_one_number_for_each_count_after_every_decision(
    client, alice, bob, dan, campaign, alice_account, dan_account
):
    def draft(owner, account, **fields):
        lead_fields = {key: fields.pop(key) for key in ("status", "snoozed_until") if key in fields}
        lead = LeadFactory(campaign=campaign, owner=owner, **lead_fields)
        return MessageFactory(lead=lead, campaign=campaign, account=account, **fields)

    first, second, third = (draft(alice, alice_account) for _ in range(3))
    dans = draft(dan, dan_account)
    draft(alice, alice_account, status=Lead.Status.SNOOZED)  # waits for the lead to wake: not in the queue
    draft(alice, alice_account, blocked=True, guardrail_findings=BLOCKING)  # waits for a rewrite, not a decision
    for _ in range(2):
        LeadFactory(campaign=campaign, owner=None)  # qualified, no rep yet
    reps, manager = login(client, alice), login(Client(), bob)  # two people, two sessions

    def check(*, mine: int, everyone: int, approved: int, unallocated: int) -> None:
        alices = queue_counts(reps)
        assert alices == dict.fromkeys(alices, mine), f"alice's queue: {alices}"
        bobs = queue_counts(manager)
        assert bobs == dict.fromkeys(bobs, everyone), f"the manager's queue: {bobs}"
        live = dashboard_counts(manager)
        assert live == {"backlog": everyone, "badge": everyone, "approved": approved}, f"the dashboard: {live}"
        metrics_rebuild()  # the counts as the activity log gives them
        assert dashboard_counts(manager)["approved"] == approved, "a rebuild counts the approvals alike"
        truth = {
            "leads": Lead.objects.filter(campaign=campaign).count(),
            "unallocated": Lead.objects.filter(
                campaign=campaign, status=Lead.Status.QUALIFIED, owner__isnull=True
            ).count(),
        }
        assert truth["unallocated"] == unallocated
        assert campaign_columns(manager, campaign) == truth

    check(mine=3, everyone=4, approved=0, unallocated=2)

    response = reps.post(f"/approvals/{first.pk}/approve/", {"revision": first.revision}, **HTMX)
    assert "queueChanged" in response["HX-Trigger"]
    check(mine=2, everyone=3, approved=1, unallocated=2)

    response = reps.post(f"/approvals/{first.pk}/undo/", **HTMX)
    assert "queueChanged" in response["HX-Trigger"]
    check(mine=3, everyone=4, approved=0, unallocated=2)  # an approval undone was never one

    response = reps.post(f"/approvals/{second.pk}/snooze/", {"days": "7"}, **HTMX)
    assert "queueChanged" in response["HX-Trigger"]
    check(mine=2, everyone=3, approved=0, unallocated=2)

    response = reps.post(f"/approvals/{third.pk}/reject/", {"revision": third.revision, "reason": "Wrong tone"}, **HTMX)
    assert "queueChanged" in response["HX-Trigger"]
    check(mine=1, everyone=2, approved=0, unallocated=2)

    assert len(campaign_allocate(campaign_id=campaign.pk)) == 2  # their drafts are written once this commits
    check(mine=1, everyone=2, approved=0, unallocated=0)

    first.refresh_from_db()
    manager.post(f"/approvals/{first.pk}/approve/", {"revision": first.revision}, **HTMX)
    manager.post(f"/approvals/{dans.pk}/approve/", {"revision": dans.revision}, **HTMX)
    check(mine=0, everyone=0, approved=2, unallocated=0)
    assert OutreachMessage.objects.filter(status=OutreachMessage.Status.APPROVED).count() == 2
