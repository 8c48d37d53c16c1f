import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

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


def test_it_disables_what_is_no_longer_declared():
    call_command("sync_schedules")
    old = PeriodicTask.objects.get(name="heartbeat")
    PeriodicTask.objects.create(name="retired-job", task="x.y", interval=old.interval)
    call_command("sync_schedules")
    assert PeriodicTask.objects.get(name="retired-job").enabled is False


def test_every_scheduled_task_exists():
    from salesdept.celery import app

    app.loader.import_default_modules()
    for entry in SCHEDULES:
        assert entry.task in app.tasks, entry.task
