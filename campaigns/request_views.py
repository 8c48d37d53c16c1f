"""Campaign requests: a rep asks for a campaign in plain words; a manager edits the proposal and decides.

The pages keep their addresses under /approvals/requests/ (approvals.urls mounts `request_urlpatterns`
there): reps reach them from the approval queue.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from campaigns.forms import CampaignRequestForm, ProposalForm, RequestRejectForm
from campaigns.models import CampaignRequest
from campaigns.requests import RequestError, campaign_request_submit
from campaigns.requests import campaign_request_approve as approve_request
from campaigns.requests import campaign_request_reject as reject_request
from campaigns.selectors import campaign_request_get, campaign_requests_for, request_accounts
from salesdept.roles import is_manager, manager_required, rep_required

REQUESTS = "campaigns/requests.html"


def _proposal_form(campaign_request, data=None, *, accounts=None) -> ProposalForm:
    accounts = list(request_accounts()) if accounts is None else accounts  # read once per page
    initial = ProposalForm.initial_from(campaign_request.proposal)
    initial["accounts"] = [a.pk for a in accounts if a.owner_id == campaign_request.requested_by_id]
    return ProposalForm(data, accounts=accounts, initial=initial, prefix=f"r{campaign_request.pk}")


@require_GET
@rep_required
def campaign_requests(request: HttpRequest) -> HttpResponse:
    """Campaign requests: a rep asks here; managers edit and decide the pending ones."""
    requests = list(campaign_requests_for(request.user)[:50])
    manager = is_manager(request.user)
    pending = [r for r in requests if r.status == CampaignRequest.Status.PENDING] if manager else []
    accounts = list(request_accounts()) if pending else []
    context = {
        "form": CampaignRequestForm(),
        "pending": [(r, _proposal_form(r, accounts=accounts), RequestRejectForm(prefix=f"r{r.pk}")) for r in pending],
        "others": [r for r in requests if r not in pending],
    }
    return render(request, REQUESTS, context)


@require_GET
@rep_required
def campaign_request_card(request: HttpRequest, pk: int) -> HttpResponse:
    """One request's row: polled while the LLM reads it."""
    return render(request, f"{REQUESTS}#request-row", {"r": campaign_request_get(request.user, pk)})


@require_POST
@rep_required
def campaign_request_new(request: HttpRequest) -> HttpResponse:
    form = CampaignRequestForm(request.POST)
    if form.is_valid():
        try:
            campaign_request_submit(actor=request.user, text=form.cleaned_data["text"])
        except RequestError as exc:
            form.add_error("text", str(exc))
        else:
            messages.success(request, "Request sent: it is being read, then a manager decides.")
            return redirect("approvals:requests")
    context = {"form": form, "pending": [], "others": list(campaign_requests_for(request.user)[:50])}
    return render(request, REQUESTS, context, status=400)


@require_POST
@manager_required
def campaign_request_approve(request: HttpRequest, pk: int) -> HttpResponse:
    campaign_request = campaign_request_get(request.user, pk)
    form = _proposal_form(campaign_request, request.POST)
    try:
        if form.is_valid():
            campaign = approve_request(
                request=campaign_request,
                actor=request.user,
                proposal=form.proposal(),
                account_ids=form.cleaned_data["accounts"],
            )
    except RequestError as exc:
        messages.error(request, str(exc))
        return redirect("approvals:requests")
    except ValidationError as exc:  # the campaign rules refused a value the form let through
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    if form.errors:
        messages.error(request, "The proposal has errors: see the fields marked below.")
        context = {
            "form": CampaignRequestForm(),
            "pending": [(campaign_request, form, RequestRejectForm(prefix=f"r{pk}"))],
            "others": [],
        }
        return render(request, REQUESTS, context, status=400)
    messages.success(request, f"“{campaign.name}” is created and looking for leads.")
    return redirect("campaigns:detail", pk=campaign.pk)


@require_POST
@manager_required
def campaign_request_reject(request: HttpRequest, pk: int) -> HttpResponse:
    campaign_request = campaign_request_get(request.user, pk)
    form = RequestRejectForm(request.POST, prefix=f"r{pk}")
    try:
        if not form.is_valid():
            raise RequestError(form.errors["note"][0])
        reject_request(request=campaign_request, actor=request.user, note=form.cleaned_data["note"])
    except RequestError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Request declined; the rep is told why.")
    return redirect("approvals:requests")
