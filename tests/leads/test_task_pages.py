"""My tasks: a rep's open tasks, soonest due first, overdue ones marked; a manager sees everyone's."""

import datetime as dt

import pytest

from leads.models import Task
from tests.conftest import login
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _task(lead, owner, text: str, due_on: dt.date, status: str = Task.Status.OPEN, timezone: str = "UTC") -> Task:
    return Task.objects.create(
        lead=lead,
        owner=owner,
        created_by=owner,
        text=text,
        instruction=text,
        due_on=due_on,
        timezone=timezone,
        due_at=dt.datetime.combine(due_on, dt.time.min, tzinfo=dt.UTC),
        status=status,
    )


@pytest.fixture
def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.fixture
def tasks(campaign, alice, dan, today):
    alices = LeadFactory(campaign=campaign, owner=alice, first_name="Lena")
    dans = LeadFactory(campaign=campaign, owner=dan, first_name="Omar")
    return {
        "later": _task(alices, alice, "send the pricing PDF", today + dt.timedelta(days=7)),
        "overdue": _task(alices, alice, "congratulate her on the new role", today - dt.timedelta(days=2)),
        "today": _task(alices, alice, "ask for an intro to procurement", today),
        "done": _task(alices, alice, "book the demo", today, status=Task.Status.DONE),
        "dans": _task(dans, dan, "call about the budget", today),
    }


def test_it_shows_a_reps_open_tasks_soonest_first(client, alice, tasks):
    page = login(client, alice).get("/leads/tasks/").text
    order = [page.index(tasks[name].text) for name in ("overdue", "today", "later")]
    assert order == sorted(order)
    assert tasks["done"].text not in page
    assert tasks["dans"].text not in page  # another rep's


def test_it_marks_the_overdue_ones(client, alice, tasks):
    page = login(client, alice).get("/leads/tasks/").text
    assert f'<tr id="task-{tasks["overdue"].pk}" class="overdue">' in page
    assert f'<tr id="task-{tasks["today"].pk}">' in page
    assert page.count("Overdue</span>") == 1


def test_a_task_due_today_is_not_overdue_where_the_day_has_not_ended(client, alice, campaign, today):
    """Due yesterday in Auckland can still be today's work in Honolulu: each task's own calendar decides."""
    lead = LeadFactory(campaign=campaign, owner=alice)
    local_today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=-10))).date()
    task = _task(lead, alice, "check in", local_today, timezone="Pacific/Honolulu")
    assert not task.overdue
    task.due_on = local_today - dt.timedelta(days=1)
    assert task.overdue


def test_a_manager_sees_every_reps_tasks_and_can_narrow_to_one(client, bob, tasks, dan):
    page = login(client, bob).get("/leads/tasks/").text
    assert tasks["dans"].text in page and tasks["later"].text in page
    narrowed = client.get("/leads/tasks/", {"owner": dan.pk}).text
    assert tasks["dans"].text in narrowed and tasks["later"].text not in narrowed


def test_a_rep_cannot_narrow_to_another_reps_tasks(client, dan, alice, tasks):
    page = login(client, dan).get("/leads/tasks/", {"owner": alice.pk}).text
    assert tasks["later"].text not in page and tasks["dans"].text in page


def test_a_user_without_a_role_is_refused(client, mallory, tasks):
    assert login(client, mallory).get("/leads/tasks/").status_code == 403


def test_another_rep_cannot_close_alices_task(client, dan, tasks):
    assert login(client, dan).post(f"/leads/tasks/{tasks['today'].pk}/done/").status_code == 404
    tasks["today"].refresh_from_db()
    assert tasks["today"].status == Task.Status.OPEN


def test_done_from_my_tasks_comes_back_to_my_tasks(client, alice, tasks):
    response = login(client, alice).post(f"/leads/tasks/{tasks['today'].pk}/done/", {"back": "tasks"})
    assert response["Location"] == "/leads/tasks/"
    page = client.get("/leads/tasks/").text
    assert "is done." in page  # the message
    assert f'id="task-{tasks["today"].pk}"' not in page


def test_the_nav_links_to_my_tasks(client, alice):
    page = login(client, alice).get("/leads/tasks/").text
    assert '<a href="/leads/tasks/" aria-current="page">My tasks</a>' in page


def test_the_page_does_not_query_more_with_more_tasks(client, alice, campaign, today, django_assert_max_num_queries):
    lead = LeadFactory(campaign=campaign, owner=alice)
    login(client, alice)
    for n in range(3):
        _task(LeadFactory(campaign=campaign, owner=alice), alice, f"task {n}", today)
    with django_assert_max_num_queries(12) as few:
        client.get("/leads/tasks/")
    for n in range(20):
        _task(lead, alice, f"more {n}", today)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/leads/tasks/")
