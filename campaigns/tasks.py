from celery import shared_task

from campaigns.allocation import campaign_allocate
from campaigns.models import Campaign
from campaigns.requests import campaign_request_propose
from campaigns.services import campaign_start_pipeline


@shared_task
def campaign_allocate_task(campaign_id: int) -> int:
    return len(campaign_allocate(campaign_id=campaign_id))


@shared_task
def campaigns_find_leads_task() -> int:
    """The daily search: every active campaign looks for its quota of new leads."""
    campaigns = list(Campaign.objects.filter(status=Campaign.Status.ACTIVE))
    for campaign in campaigns:
        campaign_start_pipeline(campaign=campaign)
    return len(campaigns)


@shared_task
def campaigns_allocate_task() -> int:
    """The daily allocation: leftovers from earlier runs get their rep."""
    ids = Campaign.objects.filter(status=Campaign.Status.ACTIVE).values_list("pk", flat=True)
    return sum(len(campaign_allocate(campaign_id=pk)) for pk in ids)


@shared_task
def campaign_request_propose_task(request_id: int) -> bool:
    return campaign_request_propose(request_id=request_id)
