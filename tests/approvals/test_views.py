import json

import pytest

from leads.models import Activity
from outreach.models import OutreachMessage
from tests.conftest import login

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_it_shows_the_reps_own_drafts(client, alice, pending, dans_pending):
    response = login(client, alice).get("/approvals/")
    assert response.status_code == 200
    assert pending.lead.full_name in response.text
    assert dans_pending.lead.full_name not in response.text
    assert "<html" in response.text


def test_it_renders_only_the_list_for_htmx(client, alice, pending):
    response = login(client, alice).get("/approvals/?sort=oldest", **HTMX)
    assert response.status_code == 200
    assert 'id="queue-list"' in response.text
    assert "<html" not in response.text


def test_it_shows_managers_every_draft(client, bob, pending, dans_pending):
    response = login(client, bob).get("/approvals/")
    assert pending.lead.full_name in response.text
    assert dans_pending.lead.full_name in response.text


def test_it_sends_anonymous_users_to_login(client, pending):
    response = client.get("/approvals/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_it_refuses_users_without_a_role(client, mallory, pending):
    assert login(client, mallory).get("/approvals/").status_code == 403


def test_it_approves_over_htmx(client, alice, pending, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(client, alice).post(
            f"/approvals/{pending.pk}/approve/", {"revision": pending.revision, "body": pending.body}, **HTMX
        )
    assert response.status_code == 200
    assert "Approved" in response.text
    assert "queueChanged" in json.loads(response.headers["HX-Trigger"])
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.APPROVED
    assert pending.decided_by == alice
    assert Activity.objects.filter(verb="message.approved", message=pending, actor=alice).count() == 1
    assert len(callbacks) == 1  # the send is asked for once the approval commits


def test_it_keeps_the_reps_edit_and_the_original(client, alice, pending):
    original = pending.body
    edited = "Hi Lena, a shorter note about the Summit."
    login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1, "body": edited})
    pending.refresh_from_db()
    assert pending.body == edited
    assert pending.original_body == original
    assert pending.revision == 2


def test_it_approves_with_a_plain_form_and_redirects(client, alice, pending):
    response = login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1})
    assert response.status_code == 302
    assert response.url == "/approvals/"
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.APPROVED


def test_it_tells_the_second_approver_who_decided(client, alice, bob, pending):
    login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1})
    response = login(client, bob).post(f"/approvals/{pending.pk}/approve/", {"revision": 1}, **HTMX)
    assert response.status_code == 200
    assert "Already approved by Alice Rivera" in response.text
    pending.refresh_from_db()
    assert pending.decided_by == alice
    assert Activity.objects.filter(verb="message.approved", message=pending).count() == 1


def test_it_refuses_a_stale_form(client, alice, pending):
    pending.revision = 2  # regenerated since the rep opened the page
    pending.save(update_fields=["revision"])
    response = login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1}, **HTMX)
    assert "changed since you opened it" in response.text
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.PENDING_APPROVAL


def test_it_refuses_an_edit_that_breaks_a_guardrail(client, alice, pending):
    too_long = "Hi Lena, " + "x" * 400
    response = login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1, "body": too_long}, **HTMX)
    assert "allows 300" in response.text
    assert too_long in response.text  # the rep's text is kept for fixing
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.PENDING_APPROVAL
    assert pending.body != too_long


def test_it_refuses_a_greeting_with_the_wrong_name(client, alice, pending):
    response = login(client, alice).post(
        f"/approvals/{pending.pk}/approve/", {"revision": 1, "body": "Hi Tom, glad to connect."}, **HTMX
    )
    assert "Greets &#x27;Tom&#x27; but the lead is &#x27;Lena&#x27;" in response.text
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.PENDING_APPROVAL


def test_it_hides_another_reps_draft(client, alice, dans_pending):
    response = login(client, alice).post(f"/approvals/{dans_pending.pk}/approve/", {"revision": 1})
    assert response.status_code == 404
    dans_pending.refresh_from_db()
    assert dans_pending.status == OutreachMessage.Status.PENDING_APPROVAL


def test_it_answers_404_for_an_unknown_id(client, alice, pending):
    assert login(client, alice).post("/approvals/999999/approve/", {"revision": 1}).status_code == 404


def test_it_refuses_get_on_approve(client, alice, pending):
    assert login(client, alice).get(f"/approvals/{pending.pk}/approve/").status_code == 405


def test_it_refuses_a_form_without_revision(client, alice, pending):
    response = login(client, alice).post(f"/approvals/{pending.pk}/approve/", {}, **HTMX)
    assert "out of date" in response.text
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.PENDING_APPROVAL


def test_it_rejects_with_a_reason_and_drafts_again_by_default(client, alice, pending):
    response = login(client, alice).post(
        f"/approvals/{pending.pk}/reject/", {"revision": 1, "reason": "Too formal"}, **HTMX
    )
    assert "Rejected" in response.text
    pending.refresh_from_db()
    assert (pending.status, pending.instruction) == (OutreachMessage.Status.GENERATING, "Too formal")


def test_it_refuses_a_reject_without_reason(client, alice, pending):
    response = login(client, alice).post(f"/approvals/{pending.pk}/reject/", {"revision": 1, "reason": ""}, **HTMX)
    assert "Say why you reject this draft" in response.text
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.PENDING_APPROVAL


def test_it_cannot_reject_after_approval(client, alice, bob, pending):
    login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1})
    response = login(client, bob).post(f"/approvals/{pending.pk}/reject/", {"revision": 1, "reason": "no"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.APPROVED


def test_it_counts_pending_drafts(client, alice, pending):
    response = login(client, alice).get("/approvals/count/", **HTMX)
    assert ">1</span>" in response.text


def test_it_gives_the_queue_header_its_count_for_the_filters(client, alice, pending, campaign, alice_account):
    from tests.factories import LeadFactory, MessageFactory

    MessageFactory(
        lead=LeadFactory(campaign=campaign, owner=alice), campaign=campaign, account=alice_account, kind="email"
    )
    login(client, alice)
    assert ">2 drafts waiting.</p>" in client.get("/approvals/total/", **HTMX).text
    response = client.get("/approvals/total/", {"kind": "email"}, **HTMX)
    assert ">1 draft waiting that matches these filters.</p>" in response.text
    assert 'hx-get="/approvals/total/?kind=email"' in response.text  # the next refresh keeps them


def test_regenerate_sends_the_draft_back_and_the_item_polls(client, alice, pending, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = login(client, alice).post(
            f"/approvals/{pending.pk}/regenerate/", {"revision": 1, "instruction": "shorter"}, **HTMX
        )
    assert 'hx-trigger="every 2s"' in response.text
    assert "Rewriting the draft" in response.text
    assert len(callbacks) == 1
    pending.refresh_from_db()
    assert (pending.status, pending.instruction, pending.revision) == ("generating", "shorter", 2)
    item = client.get(f"/approvals/{pending.pk}/", **HTMX)
    assert 'hx-trigger="every 2s"' in item.text
    assert "HX-Trigger" not in item  # still rewriting: the queue's counts have not changed again

    OutreachMessage.objects.filter(pk=pending.pk).update(status=OutreachMessage.Status.PENDING_APPROVAL)
    item = client.get(f"/approvals/{pending.pk}/", **HTMX)
    assert "queueChanged" in item["HX-Trigger"]  # back in the queue: its header and badge count it again


def test_regenerate_on_a_decided_draft_changes_nothing(client, alice, pending):
    login(client, alice).post(f"/approvals/{pending.pk}/approve/", {"revision": 1})
    response = client.post(f"/approvals/{pending.pk}/regenerate/", {"revision": 1, "instruction": "x"}, **HTMX)
    assert "Already approved" in response.text
    pending.refresh_from_db()
    assert pending.status == OutreachMessage.Status.APPROVED


def test_blocked_drafts_wait_apart_without_an_approve_button(client, alice, pending):
    pending.blocked = True
    pending.guardrail_findings = [{"code": "unsupported_claim", "message": "Not in the profile: X", "blocking": True}]
    pending.save(update_fields=["blocked", "guardrail_findings"])
    response = login(client, alice).get("/approvals/")
    assert "Needs rewriting (1)" in response.text
    assert "Not in the profile: X" in response.text
    assert f'action="/approvals/{pending.pk}/approve/"' not in response.text
    assert f'action="/approvals/{pending.pk}/regenerate/"' in response.text
    assert client.get("/approvals/count/").text.count(">0<") == 1


def test_a_low_confidence_label_is_flagged(client, alice, pending):
    pending.lead.needs_review = True
    pending.lead.save(update_fields=["needs_review"])
    response = login(client, alice).get("/approvals/")
    assert "Low confidence: check the label" in response.text


def test_another_reps_item_is_404(client, alice, dans_pending):
    assert login(client, alice).get(f"/approvals/{dans_pending.pk}/").status_code == 404
