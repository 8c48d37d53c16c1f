"""Reads on leads, scoped to what the user may see."""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from leads.models import Activity, Lead
from salesdept.roles import is_manager


def leads_visible_to(user) -> QuerySet[Lead]:
    leads = Lead.objects.all()
    return leads if is_manager(user) else leads.filter(owner=user)


def lead_list_for(user, *, search: str = "", status: str = "", campaign_id: int | None = None) -> QuerySet[Lead]:
    leads = leads_visible_to(user).select_related("company", "campaign", "owner")
    if search:
        leads = leads.filter(
            Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
            | Q(company__name__icontains=search)
            | Q(email__icontains=search)
            | Q(position__icontains=search)
        )
    if status:
        leads = leads.filter(status=status)
    if campaign_id:
        leads = leads.filter(campaign_id=campaign_id)
    return leads.order_by("-created_at", "-pk")


def lead_get_for_user(user, pk: int) -> Lead:
    return get_object_or_404(leads_visible_to(user).select_related("company", "campaign", "owner"), pk=pk)


def lead_timeline(lead: Lead) -> QuerySet[Activity]:
    return lead.activities.select_related("actor", "message").order_by("-created_at", "-pk")
