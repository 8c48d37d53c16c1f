from celery import shared_task
from django.utils import timezone

from leads.services import leads_find, leads_qualify, leads_wake_snoozed


@shared_task
def leads_find_task(campaign_id: int) -> list[int]:
    return leads_find(campaign_id=campaign_id)


@shared_task
def leads_qualify_task(lead_ids: list[int]) -> int:
    return len(leads_qualify(lead_ids=lead_ids))


@shared_task
def leads_wake_snoozed_task() -> int:
    return leads_wake_snoozed(today=timezone.localdate())
