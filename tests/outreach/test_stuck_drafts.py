"""Drafts whose worker died while `generating` go back to their rep (issue #15).

Killed mid-regenerate, a draft stayed `generating` for ever: gone from the queue, with no button.
"""

import datetime as dt

import pytest

from approvals.selectors import blocked_for, queue_for
from approvals.services import message_approve, message_regenerate
from leads.models import Activity
from outreach.models import OutreachMessage
from outreach.services import DRAFT_STUCK_AFTER, drafts_release_stuck
from salesdept import clock
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db
Status = OutreachMessage.Status
LATER = DRAFT_STUCK_AFTER + dt.timedelta(seconds=1)


def test_it_gives_a_rewrite_whose_worker_died_back_with_its_previous_text(pending, alice):
    before = pending.body
    message = message_regenerate(message=pending, actor=alice, revision=pending.revision, instruction="shorter")
    assert message.status == Status.GENERATING and list(queue_for(alice)) == []
    # The worker was killed: messages_fill never ran.

    assert drafts_release_stuck(now=clock.now() + LATER) == 1

    message.refresh_from_db()
    assert (message.status, message.body, message.blocked) == (Status.PENDING_APPROVAL, before, False)
    assert list(queue_for(alice)) == [message]
    finding = message.guardrail_findings[-1]
    assert (finding["code"], finding["blocking"]) == ("draft_lost", False)
    assert "this is the previous text" in finding["message"]
    assert Activity.objects.filter(verb="message.draft_lost", message=message, payload__had_text=True).exists()
    approved = message_approve(message=message, actor=alice, revision=message.revision)  # the rep can act again
    assert approved.status == Status.APPROVED


def test_a_first_draft_never_written_goes_under_needs_rewriting(pending, alice):
    OutreachMessage.objects.filter(pk=pending.pk).update(status=Status.GENERATING, body="", subject="")

    assert drafts_release_stuck(now=clock.now() + LATER) == 1

    pending.refresh_from_db()
    assert (pending.status, pending.blocked) == (Status.PENDING_APPROVAL, True)
    assert pending.guardrail_findings[-1] == {
        "code": "draft_lost",
        "blocking": True,
        "message": "The draft was not written (its worker stopped): regenerate it.",
    }
    assert list(blocked_for(alice)) == [pending]
    regenerating = message_regenerate(message=pending, actor=alice, revision=pending.revision, instruction="")
    assert regenerating.status == Status.GENERATING


def test_a_draft_still_inside_the_task_time_limit_is_left_to_its_worker(pending, alice):
    message_regenerate(message=pending, actor=alice, revision=pending.revision, instruction="shorter")

    assert drafts_release_stuck(now=clock.now() + DRAFT_STUCK_AFTER - dt.timedelta(seconds=30)) == 0

    pending.refresh_from_db()
    assert pending.status == Status.GENERATING
    assert not Activity.objects.filter(verb="message.draft_lost").exists()


def test_a_draft_that_arrived_meanwhile_is_not_touched(campaign, alice, alice_account):
    done = MessageFactory(lead__campaign=campaign, lead__owner=alice, account=alice_account)

    assert drafts_release_stuck(now=clock.now() + LATER) == 0

    done.refresh_from_db()
    assert done.status == Status.PENDING_APPROVAL and done.guardrail_findings == []
