from celery import shared_task
from django.conf import settings

from crm.base import RateLimited
from crm.models import CRMConnection


# A rate limit passes: the run waits out the CRM's Retry-After (bounded) and resumes where it
# stopped (its confirmed records are skipped). After CRM_RETRIES_MAX waits it gives up; the next
# scheduled run starts over from the same watermark.
@shared_task(bind=True, max_retries=None)
def crm_sync_task(self, connection_id: int, full: bool = False, run_id: int | None = None, trigger: str = "schedule"):
    from crm.sync import sync_give_up, sync_run

    connection = CRMConnection.objects.filter(pk=connection_id, is_active=True).first()
    if connection is None:
        return None
    try:
        run = sync_run(connection, full=full, run_id=run_id, trigger=trigger)
    except RateLimited as limited:
        run_id = limited.run_id  # set by sync_run: the run that waits
        if self.request.retries >= settings.CRM_RETRIES_MAX:
            sync_give_up(run_id=run_id, reason=f"Rate limited {self.request.retries + 1} times: {limited}")
            return run_id
        countdown = min(limited.retry_after, settings.CRM_RETRY_MAX_SECONDS)
        raise self.retry(args=(connection_id, full, run_id, trigger), countdown=countdown, exc=limited) from None
    return run.pk if run else None


@shared_task
def crm_sync_all_task() -> int:
    """The schedule's tick: one run per active connection (a busy one skips itself)."""
    ids = list(CRMConnection.objects.filter(is_active=True).values_list("pk", flat=True))
    for connection_id in ids:
        crm_sync_task.delay(connection_id)
    return len(ids)


@shared_task
def crm_erase_task(lead_id: int) -> dict:
    from crm.services import crm_erase_pending

    return crm_erase_pending(lead_id=lead_id)
