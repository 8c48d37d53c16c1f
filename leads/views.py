from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from leads.forms import DoNotContactForm, LeadFilterForm, ScoreOverrideForm
from leads.selectors import lead_conversation, lead_get_for_user, lead_list_for, lead_page, lead_timeline
from leads.services import lead_override_score, lead_set_do_not_contact
from salesdept.roles import rep_required
from salesdept.views_helpers import partial_or_page

TIMELINE_LENGTH = 200


@require_GET
@rep_required
def lead_list(request: HttpRequest) -> HttpResponse:
    form = LeadFilterForm(request.GET, user=request.user)
    leads = lead_list_for(request.user, **form.filters())
    page = lead_page(leads, sort=form.chosen_sort(), after=request.GET.get("after", ""))
    template = partial_or_page(request, "leads/lead_list.html", "lead-table")
    return render(request, template, {"form": form, "page": page})


@require_GET
@rep_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    context = {
        "lead": lead,
        "timeline": lead_timeline(lead)[:TIMELINE_LENGTH],
        "conversation": lead_conversation(lead),
        "dnc_form": DoNotContactForm(),
        "score_form": ScoreOverrideForm(initial={"score": lead.score_override}),
    }
    return render(request, "leads/lead_detail.html", context)


@require_POST
@rep_required
def lead_do_not_contact(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    form = DoNotContactForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
    elif lead_set_do_not_contact(lead=lead, actor=request.user, reason=form.cleaned_data["reason"]):
        messages.success(request, f"{lead} will not be contacted again; pending messages were cancelled.")
    else:
        messages.info(request, f"{lead} was already marked do-not-contact.")
    return redirect("leads:detail", pk=lead.pk)


@require_POST
@rep_required
def lead_score(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    form = ScoreOverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
    else:
        score = form.cleaned_data["score"]
        lead_override_score(lead=lead, actor=request.user, score=score, reason=form.cleaned_data["reason"])
        messages.success(request, f"Score set to {score}." if score is not None else "Back to the rule score.")
    return redirect("leads:detail", pk=lead.pk)
