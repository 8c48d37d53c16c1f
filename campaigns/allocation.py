"""Allocation: which rep works which qualified lead."""

from django.db import transaction

from campaigns.models import Campaign
from leads.models import Lead
from leads.services import activity_record


@transaction.atomic
def campaign_allocate(*, campaign_id: int) -> list[int]:
    """Give the best qualified, unowned leads to the campaign's reps, fairly and one rep per company.

    Returns the ids of the leads allocated; each gets a first draft once this commits.
    """
    from outreach.services import messages_draft_enqueue

    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Campaign.Status.ACTIVE:
        return []
    reps = sorted(
        {account.owner for account in campaign.sending_accounts.filter(is_active=True).select_related("owner")},
        key=lambda user: user.pk,
    )
    if not reps:
        return []
    load = {rep.pk: Lead.objects.filter(owner=rep, status=Lead.Status.QUALIFIED).count() for rep in reps}
    candidates = (
        Lead.objects.filter(campaign=campaign, status=Lead.Status.QUALIFIED, owner__isnull=True)
        .select_related("company")
        .order_by("-score", "pk")[: campaign.daily_lead_quota]
    )
    company_owner = dict(
        Lead.objects.filter(
            company__in={c.company_id for c in candidates if c.company_id}, owner__isnull=False
        ).values_list("company_id", "owner_id")
    )
    allocated: list[int] = []
    for lead in candidates:
        owner_id = company_owner.get(lead.company_id)
        if owner_id is not None and owner_id not in load:
            continue  # another team's rep already works this company
        owner_id = owner_id or min(load, key=lambda pk: (load[pk], pk))
        if Lead.objects.filter(pk=lead.pk, owner__isnull=True).update(owner_id=owner_id):
            load[owner_id] += 1
            if lead.company_id:
                company_owner[lead.company_id] = owner_id
            activity_record(verb="lead.allocated", lead=lead, campaign=campaign, owner=owner_id)
            allocated.append(lead.pk)
    messages_draft_enqueue(lead_ids=allocated)
    return allocated
