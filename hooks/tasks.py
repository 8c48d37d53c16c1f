from celery import shared_task

from hooks.delivery import deliveries_due, delivery_attempt
from salesdept import clock


@shared_task(acks_late=True)
def delivery_attempt_task(delivery_id: int) -> bool:
    # Idempotent: the attempt is claimed with a conditional UPDATE, a second run finds it taken.
    return delivery_attempt(delivery_id=delivery_id)


@shared_task
def deliveries_due_task() -> int:
    due = deliveries_due(now=clock.now())
    for pk in due:
        delivery_attempt_task.delay(pk)
    return len(due)
