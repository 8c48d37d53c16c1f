import dataclasses
import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from salesdept.models import DeclaredSchedule
from salesdept.schedule_sync import schedules_sync
from salesdept.schedules import SCHEDULES

pytestmark = pytest.mark.django_db


def test_it_writes_every_declared_schedule():
    call_command("sync_schedules")
    tasks = {task.name: task for task in PeriodicTask.objects.all()}
    assert set(tasks) == {entry.name for entry in SCHEDULES}
    send = tasks["send-dispatch"]
    assert (send.task, send.interval.every, send.enabled) == ("outreach.tasks.outreach_dispatch_task", 1, True)


def test_it_is_idempotent_and_keeps_last_run():
    call_command("sync_schedules")
    ran = timezone.now() - dt.timedelta(minutes=3)
    PeriodicTask.objects.filter(name="heartbeat").update(last_run_at=ran)
    call_command("sync_schedules")
    assert PeriodicTask.objects.count() == len(SCHEDULES)
    assert PeriodicTask.objects.get(name="heartbeat").last_run_at == ran


def _declared(name: str, **changes) -> list:
    return [dataclasses.replace(entry, **changes) if entry.name == name else entry for entry in SCHEDULES]


def _edit_in_admin(name: str, **fields) -> None:
    task = PeriodicTask.objects.get(name=name)
    for field, value in fields.items():
        setattr(task, field, value)
    task.save()


def test_it_keeps_an_interval_an_admin_changed():
    call_command("sync_schedules")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.MINUTES)
    _edit_in_admin("poll-replies", interval=hourly)
    call_command("sync_schedules")
    assert PeriodicTask.objects.get(name="poll-replies").interval.every == 60


def test_it_keeps_a_schedule_an_admin_disabled():
    call_command("sync_schedules")
    _edit_in_admin("sheets-sync", enabled=False)
    call_command("sync_schedules")
    call_command("sync_schedules")
    assert PeriodicTask.objects.get(name="sheets-sync").enabled is False


def test_it_recreates_a_declared_schedule_an_admin_deleted():
    call_command("sync_schedules")
    PeriodicTask.objects.filter(name="follow-ups").delete()
    call_command("sync_schedules")
    task = PeriodicTask.objects.get(name="follow-ups")
    assert (task.enabled, task.interval.every) == (True, 60)


def test_a_changed_declaration_updates_and_reenables_the_schedule():
    schedules_sync(declared=SCHEDULES)
    ran = timezone.now() - dt.timedelta(minutes=7)
    _edit_in_admin("poll-replies", enabled=False)
    PeriodicTask.objects.filter(name="poll-replies").update(last_run_at=ran)
    lines = schedules_sync(declared=_declared("poll-replies", minutes=10))
    task = PeriodicTask.objects.get(name="poll-replies")
    assert (task.enabled, task.interval.every, task.last_run_at) == (True, 10, ran)
    assert "updated poll-replies (every 10 min)" in " ".join(lines)
    # The next deploy with the same code leaves an admin's later edit alone again.
    _edit_in_admin("poll-replies", enabled=False)
    schedules_sync(declared=_declared("poll-replies", minutes=10))
    assert PeriodicTask.objects.get(name="poll-replies").enabled is False


def test_a_changed_task_path_is_written():
    schedules_sync(declared=SCHEDULES)
    schedules_sync(declared=_declared("alerts", task="salesdept.tasks.heartbeat_task"))
    assert PeriodicTask.objects.get(name="alerts").task == "salesdept.tasks.heartbeat_task"


def test_it_disables_what_is_no_longer_declared_once():
    schedules_sync(declared=SCHEDULES)
    remaining = [entry for entry in SCHEDULES if entry.name != "rescore-leads"]
    lines = schedules_sync(declared=remaining)
    assert PeriodicTask.objects.get(name="rescore-leads").enabled is False
    assert "disabled rescore-leads (no longer declared)" in lines
    # An admin who turns the retired job back on keeps it on.
    _edit_in_admin("rescore-leads", enabled=True)
    schedules_sync(declared=remaining)
    assert PeriodicTask.objects.get(name="rescore-leads").enabled is True


def test_it_leaves_a_job_an_admin_created_alone():
    call_command("sync_schedules")
    every = PeriodicTask.objects.get(name="heartbeat").interval
    PeriodicTask.objects.create(name="admin-own-job", task="salesdept.tasks.heartbeat_task", interval=every)
    call_command("sync_schedules")
    assert PeriodicTask.objects.get(name="admin-own-job").enabled is True


def test_rows_synced_before_digests_were_kept_are_adopted_as_edited():
    call_command("sync_schedules")
    DeclaredSchedule.objects.all().delete()  # as after the upgrade: rows exist, no digests yet
    _edit_in_admin("allocate", enabled=False)
    call_command("sync_schedules")
    assert PeriodicTask.objects.get(name="allocate").enabled is False
    assert DeclaredSchedule.objects.count() == len(SCHEDULES)


def test_an_adopted_row_runs_the_declared_task_and_keeps_the_admin_interval():
    call_command("sync_schedules")
    DeclaredSchedule.objects.all().delete()  # upgraded from a release where the alerts task lived elsewhere
    PeriodicTask.objects.filter(name="alerts").update(task="salesdept.tasks.alerts_check_task")
    quarter_hour, _ = IntervalSchedule.objects.get_or_create(every=15, period=IntervalSchedule.MINUTES)
    _edit_in_admin("alerts", interval=quarter_hour)

    call_command("sync_schedules")

    alerts = PeriodicTask.objects.get(name="alerts")
    assert alerts.task == "reporting.tasks.alerts_check_task"
    assert alerts.interval.every == 15


def test_every_scheduled_task_exists():
    from salesdept.celery import app

    app.loader.import_default_modules()
    for entry in SCHEDULES:
        assert entry.task in app.tasks, entry.task
