from celery import shared_task

from salesdept import clock
from salesdept.models import Heartbeat


@shared_task
def heartbeat_task() -> str:
    """Beat sends it, the broker carries it, a worker writes it: /healthz reads the time."""
    Heartbeat.objects.update_or_create(name="beat", defaults={"beat_at": clock.now()})
    return "ok"


@shared_task
def notification_email_task(notification_id: int) -> bool:
    from salesdept.notifications import notification_email

    return notification_email(notification_id=notification_id)
