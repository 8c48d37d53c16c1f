"""A rep asks for an action in plain words on a lead; it becomes a dated task on the rep's calendar."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from leads.models import Activity, Task
from leads.services import task_add, task_close
from outreach.models import OutreachMessage
from salesdept import dates
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory, SendingAccountFactory
from tests.fakes.openai_server import json_reply

pytestmark = pytest.mark.django_db

# A Tuesday morning in London: "next Tuesday" is a week on.
TUESDAY = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("text", "due", "rest"),
    [
        ("follow up next Tuesday about the pricing PDF", dt.date(2026, 12, 1), "follow up about the pricing PDF"),
        ("congratulate her on the new role", dt.date(2026, 11, 24), "congratulate her on the new role"),
        ("ask Dana for an intro to procurement", dt.date(2026, 11, 24), "ask Dana for an intro to procurement"),
        ("in 3 days send the case study", dt.date(2026, 11, 27), "send the case study"),
        ("on 12 Jan ask how the budget round went", dt.date(2027, 1, 12), "ask how the budget round went"),
        ("tomorrow: check the deck arrived", dt.date(2026, 11, 25), "check the deck arrived"),
        ("check in on Friday", dt.date(2026, 11, 27), "check in"),
        ("on Tuesday share the agenda", dt.date(2026, 12, 1), "share the agenda"),  # said on a Tuesday: next week's
        ("ping her next week", dt.date(2026, 12, 1), "ping her"),
        ("remind her about the Summit on 3/1", dt.date(2027, 1, 3), "remind her about the Summit"),
        ("send the recording in two weeks", dt.date(2026, 12, 8), "send the recording"),
    ],
)
def test_it_reads_the_due_date_and_the_action_offline(text, due, rest):
    reading = dates.read_due_date(text, now=TUESDAY, tz=LONDON)
    assert (reading.date, reading.rest) == (due, rest)


def test_it_reads_a_weekday_on_the_writers_calendar():
    # 23:30 UTC on Monday 23 November: already Tuesday in Tokyo, still Monday in New York.
    late_monday = dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.UTC)
    assert dates.read_due_date("next Tuesday", now=late_monday, tz=ZoneInfo("Asia/Tokyo")).date == dt.date(2026, 12, 1)
    assert dates.read_due_date("next Tuesday", now=late_monday, tz=ZoneInfo("America/New_York")).date == dt.date(
        2026, 11, 24
    )
    assert dates.read_due_date("in 3 days", now=late_monday, tz=ZoneInfo("Asia/Tokyo")).date == dt.date(2026, 11, 27)


def test_it_reads_month_first_dates_for_a_us_account():
    assert dates.read_due_date("call on 3/1", now=TUESDAY, tz=LONDON, order="MDY").date == dt.date(2027, 3, 1)


@pytest.fixture
def lead(campaign, alice, alice_account):
    return LeadFactory(campaign=campaign, owner=alice, first_name="Lena")


def test_it_makes_a_dated_task_from_plain_words_without_a_model(time_machine, lead, alice):
    time_machine.move_to(TUESDAY)
    task = task_add(lead=lead, actor=alice, text="follow up next Tuesday about the pricing PDF")
    assert (task.due_on, task.instruction, task.status) == (
        dt.date(2026, 12, 1),
        "follow up about the pricing PDF",
        "open",
    )
    assert (task.owner, task.created_by, task.read_by) == (alice, alice, "offline reader")
    assert task.due_at == dt.datetime(2026, 12, 1, tzinfo=ZoneInfo("UTC"))  # alice's account is on UTC
    added = Activity.objects.get(lead=lead, verb="task.added")
    assert added.payload["due_on"] == "2026-12-01" and added.actor == alice


def test_a_task_is_due_on_the_reps_calendar(time_machine, campaign, alice):
    """23:30 UTC on a Monday is Tuesday morning for a rep whose account works in Tokyo."""
    time_machine.move_to(dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.UTC))
    tokyo = SendingAccountFactory(owner=alice, timezone="Asia/Tokyo")
    campaign.sending_accounts.set([tokyo])
    lead = LeadFactory(campaign=campaign, owner=alice)
    task = task_add(lead=lead, actor=alice, text="congratulate him on the funding round")
    assert task.due_on == dt.date(2026, 11, 24)
    assert task.timezone == "Asia/Tokyo"
    assert task.due_at == dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # Tokyo's midnight


def test_a_model_reads_the_task_when_one_is_configured(time_machine, llm, lead, alice):
    time_machine.move_to(TUESDAY)
    llm.queue(json_reply({"due_on": "2026-12-01", "instruction": "Follow up about the pricing PDF we sent"}))
    task = task_add(lead=lead, actor=alice, text="follow up next Tuesday about the pricing PDF")
    assert (task.due_on, task.instruction) == (dt.date(2026, 12, 1), "Follow up about the pricing PDF we sent")
    assert task.read_by != "offline reader"
    sent = llm.requests[0]["json"]["messages"][0]["content"]
    assert "Tuesday 2026-11-24" in sent  # the model reads relative to the rep's today


def test_a_model_date_in_the_past_is_not_believed(time_machine, llm, lead, alice):
    time_machine.move_to(TUESDAY)
    wrong = json_reply({"due_on": "2025-12-01", "instruction": "Follow up about the pricing PDF"})
    llm.queue(wrong, wrong)  # the answer, then its repair: both misread
    task = task_add(lead=lead, actor=alice, text="follow up next Tuesday about the pricing PDF")
    assert task.due_on == dt.date(2026, 12, 1)
    assert task.read_by == "offline reader"


def test_a_task_on_an_unowned_lead_belongs_to_whoever_asked(time_machine, campaign, bob):
    time_machine.move_to(TUESDAY)
    task = task_add(lead=LeadFactory(campaign=campaign, owner=None), actor=bob, text="ask Dana for an intro")
    assert task.owner == bob and task.due_on == dt.date(2026, 11, 24)


def test_closing_a_task_happens_once_and_a_cancelled_tasks_draft_leaves_the_queue(lead, alice, alice_account):
    task = task_add(lead=lead, actor=alice, text="congratulate her on the new role")
    draft = MessageFactory(lead=lead, account=alice_account, step=1, task=task)
    assert task_close(task=task, actor=alice, to=Task.Status.CANCELLED)
    assert not task_close(task=task, actor=alice, to=Task.Status.DONE)
    task.refresh_from_db()
    draft.refresh_from_db()
    assert task.status == "cancelled" and task.closed_at is not None
    assert draft.status == OutreachMessage.Status.CANCELLED
    assert list(Activity.objects.filter(lead=lead, verb__startswith="task.").values_list("verb", flat=True)) == [
        "task.cancelled",
        "task.added",
    ]


# Through the lead page ------------------------------------------------------------------------------


def test_it_adds_a_task_from_the_lead_page(client, time_machine, lead, alice):
    time_machine.move_to(TUESDAY)
    response = login(client, alice).post(f"/leads/{lead.pk}/tasks/", {"text": "check in on Friday"})
    assert response.status_code == 302
    task = Task.objects.get(lead=lead)
    assert task.due_on == dt.date(2026, 11, 27)
    page = client.get(f"/leads/{lead.pk}/").text
    assert "check in on Friday" in page and "Fri 27 Nov 2026" in page


def test_the_htmx_form_answers_with_the_task_list_only(client, lead, alice):
    response = login(client, alice).post(
        f"/leads/{lead.pk}/tasks/", {"text": "congratulate her on the new role"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="lead-tasks">')
    assert "congratulate her on the new role" in response.text and "<html" not in response.text


def test_an_empty_task_is_refused_with_a_reason(client, lead, alice):
    response = login(client, alice).post(f"/leads/{lead.pk}/tasks/", {"text": " "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Say what to do" in response.text
    assert not Task.objects.exists()


def test_another_rep_cannot_add_a_task_to_alices_lead(client, lead, dan):
    assert login(client, dan).post(f"/leads/{lead.pk}/tasks/", {"text": "call"}).status_code == 404
    assert not Task.objects.exists()


def test_it_marks_a_task_done_from_the_lead_page(client, lead, alice):
    task = task_add(lead=lead, actor=alice, text="send the deck")
    response = login(client, alice).post(f"/leads/tasks/{task.pk}/done/")
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/"
    task.refresh_from_db()
    assert task.status == "done"


def test_it_does_not_close_a_task_on_get(client, lead, alice):
    task = task_add(lead=lead, actor=alice, text="send the deck")
    assert login(client, alice).get(f"/leads/tasks/{task.pk}/cancel/").status_code == 405
    task.refresh_from_db()
    assert task.status == "open"
