"""A rep's task, when its day comes, becomes one draft in the approval queue, through the guardrails."""

import datetime as dt
import threading

import pytest
from django.db import connection

from approvals.services import message_approve, message_regenerate
from leads.models import Activity, Lead, Task
from leads.services import task_add
from outreach.models import OutreachMessage
from outreach.sending import outreach_send_next
from outreach.services import messages_draft, messages_fill, tasks_draft_due
from outreach.tasks import tasks_draft_due_task
from salesdept import clock
from salesdept.schedules import SCHEDULES
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory
from tests.fakes.openai_server import json_reply

Status = OutreachMessage.Status
TUESDAY = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def a_day_from_now() -> dt.datetime:
    """Whatever instant the suite runs at, every task added today is due by then."""
    return clock.now() + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _fills(monkeypatch) -> list[list[int]]:
    """The drafting a worker would do: recorded, then run by the test itself."""
    queued: list[list[int]] = []
    monkeypatch.setattr("outreach.tasks.messages_fill_task.delay_on_commit", lambda ids: queued.append(ids))
    return queued


@pytest.fixture
def lead(campaign, alice, alice_account):
    return LeadFactory(campaign=campaign, owner=alice, first_name="Lena")


def test_the_sweep_is_declared_for_beat():
    assert any(s.task == "outreach.tasks.tasks_draft_due_task" for s in SCHEDULES)


@pytest.mark.django_db
def test_a_task_becomes_a_draft_waiting_for_approval_on_its_day(time_machine, lead, alice, _fills):
    time_machine.move_to(TUESDAY)
    task = task_add(lead=lead, actor=alice, text="follow up next Tuesday about the pricing PDF")
    assert tasks_draft_due(now=TUESDAY) == []  # not yet
    time_machine.move_to(dt.datetime(2026, 12, 1, 0, 1, tzinfo=dt.UTC))  # Tuesday on alice's (UTC) calendar
    assert tasks_draft_due_task() == 1
    message = OutreachMessage.objects.get(task=task)
    assert _fills == [[message.pk]]
    assert (message.status, message.instruction, message.account.owner) == (
        Status.GENERATING,
        "follow up about the pricing PDF",
        alice,
    )
    assert message.kind == OutreachMessage.Kind.CONNECTION_NOTE  # nothing sent yet: the sequence's first way in

    [drafted] = messages_fill(message_ids=[message.pk])
    assert drafted.status == Status.PENDING_APPROVAL and drafted.body
    # The offline template cannot follow an instruction, and the guardrails say so beside the draft.
    assert "instruction_ignored" in [finding["code"] for finding in drafted.guardrail_findings]
    assert {"task.drafted", "message.drafted"} <= set(Activity.objects.filter(lead=lead).values_list("verb", flat=True))
    assert tasks_draft_due_task() == 0  # once


@pytest.mark.django_db
def test_the_drafting_model_gets_the_tasks_instruction(lead, alice, llm):
    task = task_add(lead=lead, actor=alice, text="congratulate her on the new role")  # the reading: offline
    [message_id] = tasks_draft_due(now=a_day_from_now())
    draft = {
        "greeting_name": "Lena",
        "subject": "",
        "body": "Hi Lena, congratulations on the new role!",
        "facts_used": [],
    }
    llm.queue(json_reply(draft), json_reply({"unsupported_claims": []}))
    [drafted] = messages_fill(message_ids=[message_id])
    asked = llm.requests[0]["json"]["messages"][1]["content"]
    assert "congratulate her on the new role" in asked
    assert drafted.status == Status.PENDING_APPROVAL and drafted.task == task
    assert not drafted.blocked


@pytest.mark.django_db
def test_regenerating_a_tasks_draft_keeps_what_the_task_asked(lead, alice):
    task_add(lead=lead, actor=alice, text="congratulate her on the new role")
    [message_id] = tasks_draft_due(now=a_day_from_now())
    [draft] = messages_fill(message_ids=[message_id])
    regenerated = message_regenerate(message=draft, actor=alice, revision=draft.revision, instruction="shorter")
    assert regenerated.instruction == "congratulate her on the new role. Also: shorter"


@pytest.mark.django_db
def test_it_writes_no_draft_for_a_lead_not_to_be_contacted(lead, alice):
    task = task_add(lead=lead, actor=alice, text="ask for an intro to procurement")
    Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.DO_NOT_CONTACT)
    assert tasks_draft_due(now=a_day_from_now()) == []
    task.refresh_from_db()
    assert task.drafted_at is not None and "not to be contacted" in task.draft_note
    assert Activity.objects.filter(lead=lead, verb="task.not_drafted").exists()
    assert not OutreachMessage.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_a_cancelled_task_is_not_drafted(lead, alice):
    task = task_add(lead=lead, actor=alice, text="ask for an intro to procurement")
    Task.objects.filter(pk=task.pk).update(status=Task.Status.CANCELLED)
    assert tasks_draft_due(now=a_day_from_now()) == []


@pytest.mark.django_db
def test_a_tasks_draft_goes_the_way_the_conversation_went_and_leaves_the_sequence_alone(lead, alice, alice_account):
    MessageFactory(lead=lead, account=alice_account, status=Status.SENT, sent_at=TUESDAY, accepted_at=TUESDAY)
    Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.REPLIED)  # the sequence stops; the rep's task does not
    task_add(lead=lead, actor=alice, text="send the pricing PDF")
    [message_id] = tasks_draft_due(now=a_day_from_now())
    assert (
        OutreachMessage.objects.get(pk=message_id).kind == OutreachMessage.Kind.MESSAGE
    )  # she accepted the invitation
    # Its step number is the conversation's, yet the sequence's own step can still be drafted.
    Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.QUALIFIED)
    OutreachMessage.objects.filter(task__isnull=True).delete()
    assert len(messages_draft(lead_ids=[lead.pk], step=1)) == 1


@pytest.mark.django_db
def test_a_tasks_draft_counts_against_the_contact_budget(lead, alice, alice_account, time_machine):
    time_machine.move_to(TUESDAY)
    an_hour_ago = TUESDAY - dt.timedelta(hours=1)
    MessageFactory(lead=lead, account=alice_account, status=Status.SENT, sent_at=an_hour_ago, accepted_at=an_hour_ago)
    task_add(lead=lead, actor=alice, text="send the pricing PDF")
    [message_id] = tasks_draft_due(now=TUESDAY)
    message = messages_fill(message_ids=[message_id])[0]
    message_approve(message=message, actor=alice, revision=message.revision, subject=message.subject, body=message.body)
    assert outreach_send_next(account_id=alice_account.pk) == "budget"  # one touch every CONTACT_MIN_GAP_DAYS
    assert OutreachMessage.objects.get(pk=message_id).status == Status.APPROVED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_make_one_draft_per_task(bob, alice):
    account = SendingAccountFactory(owner=alice)
    campaign = CampaignFactory(owner=bob, accounts=[account])
    tasks = [
        task_add(lead=LeadFactory(campaign=campaign, owner=alice), actor=alice, text="congratulate her on the new role")
        for _ in range(5)
    ]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweep():
        try:
            connection.ensure_connection()  # connect first: only the sweep itself races
            barrier.wait(timeout=30)
            results.append(tasks_draft_due(now=a_day_from_now()))
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(len(ids) for ids in results) == 5
    for task in tasks:
        assert OutreachMessage.objects.filter(task=task).count() == 1
    assert Activity.objects.filter(verb="task.drafted").count() == 5
