"""Undoing a bulk approval: every draft of the batch not yet sending comes back, and only those."""

import pytest

from outreach.models import OutreachMessage
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db


def queue_drafts(campaign, owner, account, scores) -> list[OutreachMessage]:
    return [
        MessageFactory(
            lead=LeadFactory(campaign=campaign, owner=owner, score=score), campaign=campaign, account=account
        )
        for score in scores
    ]


def status_of(message: OutreachMessage) -> str:
    message.refresh_from_db()
    return message.status


def bulk_approve(client, drafts) -> None:
    items = [f"{m.pk}:{m.revision}" for m in drafts]
    response = client.post("/approvals/bulk-approve/", {"items": items, "confirm": "on"})
    assert response.status_code == 302
    assert [status_of(m) for m in drafts] == ["approved"] * len(drafts)


def test_it_offers_to_undo_the_batch_and_brings_back_what_has_not_started_sending(
    client, alice, campaign, alice_account
):
    first, second, third, untouched = queue_drafts(campaign, alice, alice_account, [90, 80, 70, 60])
    login(client, alice)
    bulk_approve(client, [first, second, third])
    OutreachMessage.objects.filter(pk=third.pk).update(status=OutreachMessage.Status.SENDING)  # a send claimed it

    page = client.get("/approvals/").text
    assert 'action="/approvals/bulk-undo/"' in page and "Undo all 2 approvals" in page

    response = client.post("/approvals/bulk-undo/", {"items": [first.pk, second.pk, third.pk]}, follow=True)
    assert [status_of(m) for m in (first, second, third, untouched)] == [
        "pending_approval",
        "pending_approval",
        "sending",
        "pending_approval",
    ]
    said = [str(m) for m in response.context["messages"]]
    assert "Approval undone: 2 drafts are back in the queue." in said
    assert any("Too late to undo" in m for m in said)
    assert 'action="/approvals/bulk-undo/"' not in response.content.decode()  # the window is closed


def test_the_offer_lasts_only_while_a_draft_of_the_batch_is_still_approved(client, alice, campaign, alice_account):
    first, second = queue_drafts(campaign, alice, alice_account, [90, 80])
    login(client, alice)
    bulk_approve(client, [first, second])
    assert "Undo all 2 approvals" in client.get("/approvals/").text
    OutreachMessage.objects.filter(pk__in=[first.pk, second.pk]).update(status=OutreachMessage.Status.SENT)
    assert 'action="/approvals/bulk-undo/"' not in client.get("/approvals/").text


def test_another_rep_cannot_undo_alices_batch(client, alice, dan, campaign, alice_account):
    first, second = queue_drafts(campaign, alice, alice_account, [90, 80])
    login(client, alice)
    bulk_approve(client, [first, second])
    login(client, dan).post("/approvals/bulk-undo/", {"items": [first.pk, second.pk]})
    assert [status_of(m) for m in (first, second)] == ["approved", "approved"]


@pytest.mark.parametrize("items", [[], ["x"], [str(n) for n in range(1, 102)]])
def test_a_bad_undo_request_changes_nothing(client, alice, campaign, alice_account, items):
    (draft,) = queue_drafts(campaign, alice, alice_account, [90])
    login(client, alice)
    bulk_approve(client, [draft])
    response = client.post("/approvals/bulk-undo/", {"items": items})
    assert response.status_code == 302
    assert status_of(draft) == "approved"
