from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns.forms import CampaignForm, SheetSyncForm, step_formset, steps_of
from campaigns.models import Campaign
from campaigns.selectors import (
    account_choices,
    campaign_accounts,
    campaign_get,
    campaign_list,
    campaign_progress,
    campaign_steps,
)
from campaigns.services import (
    CampaignStateError,
    campaign_create,
    campaign_set_status,
    campaign_start_pipeline,
    campaign_update,
)
from competitors.services import counter_angles
from leads.models import SheetSync
from reporting.selectors import funnel, llm_costs
from salesdept.roles import manager_required
from salesdept.views_helpers import partial_or_page


@require_GET
@manager_required
def campaign_index(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/campaign_list.html", {"campaigns": campaign_list()})


def _sheet_form(sheet: SheetSync | None, data=None) -> SheetSyncForm:
    from leads import sheets

    initial = {"columns": sheets.DEFAULT_SHEET_COLUMNS}
    if sheet is not None:
        initial = {f: getattr(sheet, f) for f in ("spreadsheet", "worksheet", "columns", "enabled")}
        initial["columns"] = sheet.columns or sheets.DEFAULT_SHEET_COLUMNS
    return SheetSyncForm(data, initial=initial, columns=sheets.SHEET_COLUMNS, prefix="sheet")


def _detail(request: HttpRequest, campaign: Campaign, sheet_form: SheetSyncForm | None = None) -> HttpResponse:
    from leads import sheets

    progress = campaign_progress(campaign=campaign)
    sheet = progress["sheet"]
    template = partial_or_page(request, "campaigns/campaign_detail.html", "progress")
    context = {"campaign": campaign, **progress, "service_account": sheets.service_account_email()}
    context["sheet_url"] = sheets.spreadsheet_url(sheet.spreadsheet) if sheet and sheet.spreadsheet else ""
    if not template.endswith("#progress"):
        context |= {
            "funnel": funnel(campaign_id=campaign.pk),
            "costs": llm_costs(campaign=campaign),
            "steps": campaign_steps(campaign=campaign),
            "accounts": campaign_accounts(campaign=campaign),
            "sheet_form": sheet_form or _sheet_form(sheet),
            "counter_angles": counter_angles(),
        }
    return render(request, template, context)


@require_GET
@manager_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, campaign_get(pk))


def _apply_errors(form: CampaignForm, exc: ValidationError) -> list[str]:
    """Put the service's errors next to their fields; return those about the steps."""
    step_errors: list[str] = []
    for field, errors in exc.message_dict.items():
        if field == "steps":
            step_errors += errors
        else:
            form.add_error(field if field in form.fields else None, errors)
    return step_errors


def _form_page(request: HttpRequest, form, steps, step_errors=(), campaign=None) -> HttpResponse:
    context = {"form": form, "steps": steps, "step_errors": step_errors, "campaign": campaign}
    return render(request, "campaigns/campaign_form.html", context)


@require_http_methods(["GET", "POST"])
@manager_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = CampaignForm(data, accounts=account_choices(), initial={"min_score": 40, "daily_lead_quota": 25})
    steps = step_formset(data)
    step_errors: list[str] = []
    # `&`, not `and`: both are checked, so every error shows on the first submit.
    if data is not None and form.is_valid() & steps.is_valid():
        try:
            campaign = campaign_create(actor=request.user, **form.service_fields(), steps=steps_of(steps))
        except ValidationError as exc:
            step_errors = _apply_errors(form, exc)
        else:
            messages.success(request, "Campaign created as a draft. Start it when it is ready.")
            return redirect("campaigns:detail", pk=campaign.pk)
    return _form_page(request, form, steps, step_errors)


@require_http_methods(["GET", "POST"])
@manager_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaign_get(pk)
    data = request.POST if request.method == "POST" else None
    accounts = account_choices(campaign=campaign)
    form = CampaignForm(data, accounts=accounts, initial=CampaignForm.initial_for(campaign))
    steps = step_formset(data, steps=campaign_steps(campaign=campaign))
    step_errors: list[str] = []
    if data is not None and form.is_valid() & steps.is_valid():
        try:
            campaign_update(campaign=campaign, actor=request.user, **form.service_fields(), steps=steps_of(steps))
        except ValidationError as exc:
            step_errors = _apply_errors(form, exc)
        else:
            messages.success(request, "Campaign saved.")
            return redirect("campaigns:detail", pk=campaign.pk)
    return _form_page(request, form, steps, step_errors, campaign=campaign)


@require_POST
@manager_required
def campaign_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    from leads import sheets

    campaign = campaign_get(pk)
    form = _sheet_form(None, data=request.POST)
    if form.is_valid():
        try:
            sheets.sheet_sync_configure(campaign=campaign, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Google Sheet settings saved.")
            return redirect("campaigns:detail", pk=campaign.pk)
    return _detail(request, campaign, sheet_form=form)


@require_POST
@manager_required
def campaign_sheet_sync(request: HttpRequest, pk: int) -> HttpResponse:
    from leads import sheets

    campaign = campaign_get(pk)
    if sheets.sheet_sync_request(campaign=campaign, actor=request.user):
        messages.success(request, "The sheet will be synced in a moment.")
    elif not sheets.service_account_email():
        messages.error(request, "Google Sheets is not set up on this server: ask an admin for a service account.")
    else:
        messages.info(request, "Not queued: the sheet is switched off, not set up, or a sync is already on its way.")
    return redirect("campaigns:detail", pk=campaign.pk)


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
