"""Writes on campaigns: status changes, allocation of qualified leads to reps."""

from django.db import transaction

from campaigns.models import Campaign
from leads.services import activity_record
from salesdept import llm


def campaign_brief(*, campaign: Campaign, sender_name: str = "") -> llm.Brief:
    return llm.Brief(
        campaign=campaign.name,
        labels=campaign.labels,
        offer=campaign.offer,
        event=campaign.event,
        call_to_action=campaign.call_to_action,
        tone=campaign.tone,
        links=campaign.brief_links,
        sender_name=sender_name or campaign.owner.get_full_name() or campaign.owner.email,
    )


class CampaignStateError(Exception):
    pass


@transaction.atomic
def campaign_set_status(*, campaign: Campaign, status: str, actor) -> Campaign:
    allowed = {
        Campaign.Status.ACTIVE: (Campaign.Status.DRAFT, Campaign.Status.PAUSED),
        Campaign.Status.PAUSED: (Campaign.Status.ACTIVE,),
        Campaign.Status.FINISHED: (Campaign.Status.ACTIVE, Campaign.Status.PAUSED, Campaign.Status.DRAFT),
    }
    if status not in allowed:
        raise CampaignStateError(f"{status!r} is not a status a campaign can be moved to.")
    if not Campaign.objects.filter(pk=campaign.pk, status__in=allowed[status]).update(status=status):
        campaign.refresh_from_db(fields=["status"])
        raise CampaignStateError(f"The campaign is {campaign.get_status_display().lower()}; it cannot become {status}.")
    previous, campaign.status = campaign.status, status
    activity_record(verb=f"campaign.{status}", campaign=campaign, actor=actor, previous=previous)
    return campaign


def campaign_start_pipeline(*, campaign: Campaign, actor=None) -> None:
    """Find → qualify → allocate (→ draft), as a chain of tasks started once this commits."""
    from celery import chain

    from campaigns.tasks import campaign_allocate_task
    from leads.tasks import leads_find_task, leads_qualify_task

    if campaign.status != Campaign.Status.ACTIVE:
        raise CampaignStateError("Only an active campaign can look for leads.")
    activity_record(verb="campaign.search_started", campaign=campaign, actor=actor)
    pipeline = chain(leads_find_task.si(campaign.pk), leads_qualify_task.s(), campaign_allocate_task.si(campaign.pk))
    transaction.on_commit(pipeline.delay)
