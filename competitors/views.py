from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from competitors.forms import CampaignChoiceForm, CompetitorForm
from competitors.models import Competitor
from competitors.selectors import (
    competitor_get,
    competitor_recent_posts,
    competitor_summaries,
    competitors_list,
    latest_summaries,
)
from competitors.services import AngleError, campaign_add_angle, competitor_angle
from competitors.tasks import competitor_engagers_to_leads_task
from salesdept.roles import manager_required


@require_GET
@manager_required
def competitor_index(request: HttpRequest) -> HttpResponse:
    context = {"competitors": competitors_list(), "summaries": latest_summaries()}
    return render(request, "competitors/competitor_list.html", context)


@require_http_methods(["GET", "POST"])
@manager_required
def competitor_new(request: HttpRequest) -> HttpResponse:
    form = CompetitorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        competitor = form.save(commit=False)
        competitor.created_by = request.user
        competitor.save()
        messages.success(request, f"{competitor.name} is watched from now on: their posts are read a few times a day.")
        return redirect("competitors:detail", pk=competitor.pk)
    return render(request, "competitors/competitor_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@manager_required
def competitor_edit(request: HttpRequest, pk: int) -> HttpResponse:
    competitor = competitor_get(pk)
    form = CompetitorForm(request.POST or None, instance=competitor)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved.")
        return redirect("competitors:detail", pk=competitor.pk)
    return render(request, "competitors/competitor_form.html", {"form": form, "competitor": competitor})


def _detail(request: HttpRequest, competitor: Competitor, choice: CampaignChoiceForm | None = None) -> HttpResponse:
    context = {
        "competitor": competitor,
        "posts": competitor_recent_posts(competitor),
        "summaries": competitor_summaries(competitor),
        "angle": competitor_angle(competitor=competitor),
        "choice": choice or CampaignChoiceForm(),
    }
    return render(request, "competitors/competitor_detail.html", context)


@require_GET
@manager_required
def competitor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, competitor_get(pk))


@require_POST
@manager_required
def competitor_angle_accept(request: HttpRequest, pk: int) -> HttpResponse:
    competitor = competitor_get(pk)
    choice = CampaignChoiceForm(request.POST)
    if not choice.is_valid():
        return _detail(request, competitor, choice)
    campaign = choice.cleaned_data["campaign"]
    try:
        campaign_add_angle(campaign=campaign, competitor=competitor, actor=request.user)
    except AngleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The angle is in the brief of {campaign.name}: edit it there if you like.")
    if request.POST.get("next") == "campaign":  # offered on the campaign's own page: back there
        return redirect("campaigns:detail", pk=campaign.pk)
    return redirect("competitors:detail", pk=competitor.pk)


@require_POST
@manager_required
def competitor_engagers(request: HttpRequest, pk: int) -> HttpResponse:
    competitor = competitor_get(pk)
    choice = CampaignChoiceForm(request.POST)
    if not choice.is_valid():
        return _detail(request, competitor, choice)
    campaign = choice.cleaned_data["campaign"]
    transaction.on_commit(lambda: competitor_engagers_to_leads_task.delay(competitor.pk, campaign.pk))
    messages.success(
        request, f"Reading who engaged with {competitor.name}'s posts: new people become leads of {campaign.name}."
    )
    return redirect("competitors:detail", pk=competitor.pk)
