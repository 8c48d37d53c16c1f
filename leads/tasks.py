import logging

from celery import shared_task

from leads.intent import leads_activity_read_due
from leads.models import Lead
from leads.services import leads_find, leads_qualify, leads_rescore, leads_wake_snoozed
from leads.sheets import SheetsRetryLater, sheet_sync_run, sheets_sync_request_all
from salesdept import clock
from salesdept.llm.gateway import batch_size

logger = logging.getLogger(__name__)


@shared_task
def leads_find_task(campaign_id: int) -> list[int]:
    return leads_find(campaign_id=campaign_id)


@shared_task
def leads_qualify_task(lead_ids: list[int]) -> int:
    # A search hands over every lead it found: past one batch (what ends inside the time limit on
    # a slow model server), the rest become tasks of their own.
    size = batch_size(calls_per_item=1)
    for start in range(size, len(lead_ids), size):
        leads_qualify_task.delay(lead_ids[start : start + size])
    return len(leads_qualify(lead_ids=lead_ids[:size]))


@shared_task
def leads_wake_snoozed_task() -> int:
    return leads_wake_snoozed(today=clock.today())


# Quota (429), Google's own errors (5xx) and the network may pass: retry with backoff. Refusals
# (not shared, not found, bad key) are recorded on the SheetSync and never retried.
@shared_task(
    bind=True,
    autoretry_for=(SheetsRetryLater,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def sheet_sync_task(self, campaign_id: int) -> int:
    return sheet_sync_run(campaign_id=campaign_id, final_attempt=self.request.retries >= self.max_retries)


@shared_task
def sheets_sync_all_task() -> int:
    return sheets_sync_request_all()


@shared_task(soft_time_limit=1800, time_limit=1900)  # a 50 MB file takes minutes, not the default 4
def csv_import_run_task(job_id: int) -> bool:
    from leads.imports import csv_import_run

    return csv_import_run(job_id=job_id)


@shared_task
def company_enrich_task(company_id: int) -> bool:
    from leads.enrichment import company_enrich  # enrichment queues this task: imported here, not at the top

    return company_enrich(company_id=company_id)


@shared_task
def apollo_reveal_email_task(lead_id: int) -> bool:
    from leads.sources.apollo import apollo_reveal_email
    from leads.sources.base import SourceError

    lead = Lead.objects.select_related("company").get(pk=lead_id)
    try:
        return bool(apollo_reveal_email(lead))
    except SourceError as exc:  # not configured or refused: the lead goes on without an email
        logger.warning("Apollo could not reveal the email of lead %s: %s", lead_id, exc)
        return False


@shared_task
def leads_activity_read_due_task() -> int:
    return len(leads_activity_read_due(now=clock.now()).read)


@shared_task
def leads_rescore_task() -> int:
    return leads_rescore()


@shared_task
def imports_fail_stale_task() -> int:
    from leads.imports import imports_fail_stale

    return imports_fail_stale()


@shared_task
def privacy_purge_task() -> dict[str, int]:
    from leads.privacy import privacy_purge

    return privacy_purge(now=clock.now())
