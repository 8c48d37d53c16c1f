from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from campaigns.models import Campaign
from leads.models import Lead


def campaign_list() -> QuerySet[Campaign]:
    return (
        Campaign.objects.select_related("owner", "target")
        .annotate(
            lead_count=Count("leads", distinct=True),
            qualified_count=Count("leads", filter=Q(leads__status=Lead.Status.QUALIFIED), distinct=True),
        )
        .order_by("-created_at")
    )


def campaign_get(pk: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("owner", "target"), pk=pk)
