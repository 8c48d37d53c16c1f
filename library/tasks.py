from celery import shared_task

from salesdept import clock


@shared_task
def nurtures_suggest_due_task() -> int:
    from library.nurture import nurtures_suggest_due

    return len(nurtures_suggest_due(now=clock.now()))
