import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesdept.settings")

app = Celery("salesdept")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def _first_heartbeat(sender=None, **kwargs) -> None:
    """Beat's interval jobs first run one interval after start; say "alive" at once instead."""
    app.send_task("salesdept.tasks.heartbeat_task")
