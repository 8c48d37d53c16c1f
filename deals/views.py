"""The board, a deal's page, and the forms that open, move and edit deals: each a service call."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from deals.forms import BoardFilterForm, DealFieldsForm, DealMoveForm
from deals.models import Deal
from deals.selectors import (
    deal_board,
    deal_filter_campaigns,
    deal_get_for_user,
    deal_history,
    deal_stages,
    next_stage_id,
)
from deals.services import EDITABLE, DealError, deal_move, deal_open, deal_update
from leads.selectors import lead_get_for_user
from salesdept.roles import rep_required
from salesdept.views_helpers import form_errors_text, id_param, partial_or_page

BOARD = "deals/board.html"
DETAIL = "deals/deal_detail.html"
HISTORY_LENGTH = 100


def _board(request: HttpRequest, data, **extra) -> dict:
    form = BoardFilterForm(data, user=request.user, campaigns=deal_filter_campaigns(request.user))
    filters = form.filters()
    query = urlencode(
        {name: value for name, value in (("owner", filters["owner"]), ("campaign", filters["campaign_id"])) if value}
    )
    stages = deal_stages()
    return {
        "form": form,
        "columns": deal_board(request.user, stages=stages, **filters),
        "stages": stages,
        "query": query,
        **extra,
    }


@require_GET
@rep_required
def board(request: HttpRequest) -> HttpResponse:
    template = partial_or_page(request, BOARD, "deal-board")
    return render(request, template, _board(request, request.GET))


def _detail(request: HttpRequest, deal: Deal, status: int = 200, **extra) -> HttpResponse:
    initial = {name: getattr(deal, name) for name in EDITABLE}
    stages = deal_stages()
    deal.next_stage_id = next_stage_id(deal, stages)
    context = {
        "deal": deal,
        "edit_form": DealFieldsForm(initial=initial),
        "stages": stages,
        "history": deal_history(deal)[:HISTORY_LENGTH],
        **extra,
    }
    return render(request, DETAIL, context, status=status)


@require_GET
@rep_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, deal_get_for_user(request.user, pk))


def _moved(request: HttpRequest, deal: Deal) -> tuple[int, str]:
    """Make the move the form asks for: (200, "") when done, else (400 or 409, what to tell the rep)."""
    form = DealMoveForm(request.POST)
    if not form.is_valid():
        return 400, form_errors_text(form)
    seen = form.cleaned_data["seen"]
    if seen is not None and seen.pk != deal.stage_id:
        deal.stage = seen  # the conditional update refuses a move from a stage the deal has left
    try:
        deal_move(deal=deal, stage=form.cleaned_data["stage"], actor=request.user, reason=form.cleaned_data["reason"])
    except DealError as exc:
        return 409, str(exc)
    return 200, ""


@require_POST
@rep_required
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal from the stage the rep saw; a refusal (lost without a reason, a stale move) is shown at the card."""
    deal = deal_get_for_user(request.user, pk)
    status, error = _moved(request, deal)
    notice = f"{deal.lead} is at “{deal.stage}”." if status == 200 else ""
    if request.POST.get("back") == "deal":
        if status == 200:
            messages.success(request, notice)
            return redirect("deals:detail", pk=deal.pk)
        deal = deal_get_for_user(request.user, pk)
        return _detail(request, deal, status=status, move_error=error, move_form=DealMoveForm(request.POST))
    filters = _filters_from(request.POST)
    if status == 200 and not request.htmx:
        messages.success(request, notice)
        query = f"?{filters.urlencode()}" if filters else ""
        return redirect(f"{reverse('deals:board')}{query}#deal-{deal.pk}")
    posted = {"posted_stage": request.POST.get("stage", ""), "posted_reason": request.POST.get("reason", "")}
    context = _board(request, filters, error=error, notice=notice, moved=deal.pk, **posted)
    return render(request, partial_or_page(request, BOARD, "deal-board"), context, status=status)


def _filters_from(post) -> QueryDict:
    """The board's filters a card's form carries back (its `query`), so the board comes back as it was.

    Only the board's own filters, and only ids: the query goes into a redirect.
    """
    sent = QueryDict(post.get("query", ""))
    kept = QueryDict(mutable=True)
    for name in ("owner", "campaign"):
        if id_param(sent.get(name, "")):
            kept[name] = sent[name]
    return kept


@require_POST
@rep_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = deal_get_for_user(request.user, pk)
    form = DealFieldsForm(request.POST)
    if not form.is_valid():
        return _detail(request, deal, status=400, edit_form=form)
    deal_update(deal=deal, actor=request.user, **form.cleaned_data)
    messages.success(request, "Deal saved.")
    return redirect("deals:detail", pk=deal.pk)


@require_POST
@rep_required
def open_for_lead(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead page's "Open a deal": the deal starts at the first stage, the lead's meeting is booked."""
    from leads.views import lead_page_response

    lead = lead_get_for_user(request.user, pk)
    form = DealFieldsForm(request.POST)
    if form.is_valid():
        try:
            deal = deal_open(lead=lead, actor=request.user, **form.cleaned_data)
        except DealError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Deal opened at “{deal.stage}”: move it on the board as it goes.")
            return redirect("leads:detail", pk=lead.pk)
    return lead_page_response(request, lead, deal_form=form, status=400)
