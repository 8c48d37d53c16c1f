from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from campaigns.models import Campaign
from campaigns.selectors import campaign_get, campaign_list
from campaigns.services import CampaignStateError, campaign_set_status, campaign_start_pipeline
from reporting.selectors import funnel, llm_costs
from salesdept.roles import manager_required


@require_GET
@manager_required
def campaign_index(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/campaign_list.html", {"campaigns": campaign_list()})


@require_GET
@manager_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaign_get(pk)
    context = {
        "campaign": campaign,
        "funnel": funnel(campaign=campaign),
        "costs": llm_costs(campaign=campaign),
        "steps": campaign.steps.all(),
        "accounts": campaign.sending_accounts.select_related("owner"),
    }
    return render(request, "campaigns/campaign_detail.html", context)


@require_POST
@manager_required
def campaign_find_leads(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaign_get(pk)
    try:
        campaign_start_pipeline(campaign=campaign, actor=request.user)
    except CampaignStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Looking for leads: new drafts will appear in the approval queue.")
    return redirect("campaigns:detail", pk=campaign.pk)


@require_POST
@manager_required
def campaign_status(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaign_get(pk)
    status = request.POST.get("status", "")
    try:
        campaign_set_status(campaign=campaign, status=status, actor=request.user)
    except CampaignStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The campaign is now {Campaign.Status(status).label.lower()}.")
    return redirect("campaigns:detail", pk=campaign.pk)
