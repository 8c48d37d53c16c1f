import os

from celery import Celery
from celery.signals import beat_init, task_failure, task_postrun, task_prerun, task_retry, task_success

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesdept.settings")

app = Celery("salesdept")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def _first_heartbeat(sender=None, **kwargs) -> None:
    """Beat's interval jobs first run one interval after start; say "alive" at once instead."""
    app.send_task("salesdept.tasks.heartbeat_task")


@task_success.connect
def _count_success(sender=None, **kwargs) -> None:
    _count(sender, "success")


@task_failure.connect
def _count_failure(sender=None, **kwargs) -> None:
    _count(sender, "failure")


@task_retry.connect
def _count_retry(sender=None, **kwargs) -> None:
    _count(sender, "retry")


def _count(task, outcome: str) -> None:
    """Task outcomes for /metrics: counted in the worker process that ran the task."""
    from salesdept.prometheus import task_count

    task_count(getattr(task, "name", ""), outcome)


@task_prerun.connect
def _log_task_id(task_id=None, **kwargs) -> None:
    """Every log line the task writes carries its id (salesdept/logcontext.py)."""
    from salesdept.logcontext import LEAD_ID, TASK_ID

    TASK_ID.set(task_id or "")
    LEAD_ID.set(None)  # a pool process runs task after task: nothing carries over


@task_postrun.connect
def _forget_task_id(**kwargs) -> None:
    from salesdept.logcontext import LEAD_ID, TASK_ID

    TASK_ID.set("")
    LEAD_ID.set(None)
