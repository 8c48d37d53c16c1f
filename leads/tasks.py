from celery import shared_task

from leads.services import lead_qualify, leads_find


@shared_task
def leads_find_task(campaign_id: int) -> list[int]:
    return leads_find(campaign_id=campaign_id)


@shared_task
def leads_qualify_task(lead_ids: list[int]) -> int:
    return sum(lead_qualify(lead_id=lead_id) is not None for lead_id in lead_ids)
