from celery import shared_task

from presence.publishing import post_publish, posts_dispatch, posts_mark_stuck_unknown
from salesdept import clock


@shared_task
def posts_dispatch_task() -> int:
    return len(posts_dispatch(now=clock.now()))


@shared_task
def post_publish_task(post_id: int) -> str:
    # Never retried: a publish that may have left must not go twice (the sweeper handles it).
    return post_publish(post_id=post_id)


@shared_task
def posts_mark_stuck_unknown_task() -> int:
    return posts_mark_stuck_unknown(now=clock.now())


@shared_task
def posts_suggest_due_task() -> int:
    from presence.suggestions import posts_suggest_due

    return len(posts_suggest_due(now=clock.now()))


@shared_task
def posts_read_results_task() -> int:
    from presence.engagement import posts_read_results

    return posts_read_results(now=clock.now())
