from celery import shared_task

from campaigns.models import Campaign
from competitors.models import Competitor
from competitors.services import competitor_engagers_to_leads, competitors_read, competitors_summarise
from leads.tasks import leads_qualify_task


@shared_task
def competitors_read_task() -> int:
    return competitors_read().stored


@shared_task
def competitors_summarise_task() -> int:
    return competitors_summarise()


@shared_task
def competitor_engagers_to_leads_task(competitor_id: int, campaign_id: int) -> int:
    competitor = Competitor.objects.filter(pk=competitor_id, is_active=True).first()
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if competitor is None or campaign is None:
        return 0  # deleted or switched off meanwhile
    run = competitor_engagers_to_leads(competitor=competitor, campaign=campaign)
    if run.lead_ids:  # qualified like any found lead, so allocation can give them to a rep
        leads_qualify_task.delay(run.lead_ids)
    return run.leads + run.enrolled
