"""An API call and a click in the browser decide the same draft at the same moment: one wins, once.

Both go through the same service and its conditional UPDATE on (status, revision); each thread has
its own PostgreSQL connection, so this is the race as two web processes would run it.
"""

import pytest
from django.test import Client

from leads.models import Activity
from outreach.models import OutreachMessage
from tests.api.conftest import bearer
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory
from tests.integration.test_concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Status = OutreachMessage.Status
ROUNDS = 8


def _drafts(campaign, alice, alice_account) -> list[OutreachMessage]:
    return [
        MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice), campaign=campaign, account=alice_account)
        for _ in range(ROUNDS)
    ]


def test_an_api_approval_and_a_browser_approval_have_one_winner(campaign, alice, bob, alice_account):
    drafts = _drafts(campaign, alice, alice_account)
    token = bearer(bob)  # bob approves by script, alice in her browser: the winner is whoever decided
    browser = login(Client(), alice)
    winners = []
    for draft in drafts:

        def decide(i: int, draft=draft) -> int:
            if i == 0:
                return browser.post(f"/approvals/{draft.pk}/approve/", {"revision": draft.revision}).status_code
            return (
                Client()
                .post(
                    f"/api/v1/messages/{draft.pk}/approve",
                    {"revision": draft.revision},
                    content_type="application/json",
                    headers=token,
                )
                .status_code
            )

        browser_status, api_status = run_together(2, decide)
        draft.refresh_from_db()
        assert draft.status == Status.APPROVED
        assert Activity.objects.filter(message=draft, verb="message.approved").count() == 1
        assert browser_status == 302  # back to the queue, with "approved" or "already approved by bob"
        # The API says which: 200 when bob's call won, 409 "Already approved by Alice" when it lost.
        assert api_status == (200 if draft.decided_by == bob else 409)
        winners.append("api" if draft.decided_by == bob else "browser")
    print(f"winners over {ROUNDS} races: {sorted(winners)}")


def test_an_api_rejection_and_a_browser_approval_have_one_winner(campaign, alice, bob, alice_account):
    drafts = _drafts(campaign, alice, alice_account)
    token = bearer(bob)
    browser = login(Client(), alice)
    outcomes = []
    for draft in drafts:

        def decide(i: int, draft=draft) -> int:
            if i == 0:
                return browser.post(f"/approvals/{draft.pk}/approve/", {"revision": draft.revision}).status_code
            body = {"revision": draft.revision, "reason": "Not our buyer", "then": "drop"}
            return (
                Client()
                .post(f"/api/v1/messages/{draft.pk}/reject", body, content_type="application/json", headers=token)
                .status_code
            )

        _browser_status, api_status = run_together(2, decide)
        draft.refresh_from_db()
        outcomes.append(draft.status)
        assert draft.status in (Status.APPROVED, Status.REJECTED)
        approved = Activity.objects.filter(message=draft, verb="message.approved").count()
        rejected = Activity.objects.filter(message=draft, verb="message.rejected").count()
        assert (approved, rejected) == ((1, 0) if draft.status == Status.APPROVED else (0, 1))
        if draft.status == Status.APPROVED:
            assert api_status == 409 and draft.decided_by == alice
        else:
            assert api_status == 200 and draft.decided_by == bob
    print(f"outcomes over {ROUNDS} races: {sorted(outcomes)}")
