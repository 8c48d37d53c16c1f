from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leads.selectors import lead_get_for_user
from proposals.forms import CreateProposalForm, PointFormSet, ProposalForm, edited_points, point_forms_initial
from proposals.links import proposal_for_token
from proposals.models import NeedsSummary, Proposal
from proposals.pdf import proposal_context, proposal_pdf
from proposals.selectors import needs_get_for_user, offers_active, proposal_get_for_user
from proposals.services import (
    ProposalError,
    needs_summary_draft,
    needs_summary_edit,
    proposal_create,
    proposal_new_version,
    proposal_reopen,
    proposal_send,
    proposal_update,
)
from salesdept.roles import rep_required

NEEDS = "proposals/needs.html"
PROPOSAL = "proposals/proposal.html"


def _needs_page(request, needs: NeedsSummary, *, formset=None, create_form=None, error: str = "", status: int = 200):
    context = {
        "needs": needs,
        "lead": needs.lead,
        "formset": formset or PointFormSet(initial=point_forms_initial(needs.points)),
        "create_form": create_form or CreateProposalForm(),
        "offers": offers_active(),
        "error": error,
    }
    return render(request, NEEDS, context, status=status)


@require_POST
@rep_required
def needs_draft(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Draft needs summary" on the lead page: the model reads the conversation, every point is checked."""
    lead = lead_get_for_user(request.user, pk)
    try:
        needs = needs_summary_draft(lead=lead, actor=request.user)
    except ProposalError as exc:
        messages.error(request, str(exc))
        return redirect("leads:detail", pk=lead.pk)
    return redirect("proposals:needs", pk=needs.pk)


@require_http_methods(["GET", "POST"])
@rep_required
def needs_detail(request: HttpRequest, pk: int) -> HttpResponse:
    needs = needs_get_for_user(request.user, pk)
    if request.method == "GET":
        return _needs_page(request, needs)
    formset = PointFormSet(request.POST, initial=point_forms_initial(needs.points))
    try:
        revision = int(request.POST.get("revision", ""))
    except ValueError:
        return _needs_page(request, needs, formset=formset, error="Reload the page and edit again.", status=400)
    if not formset.is_valid():
        error = "Some points need fixing: see below."
        return _needs_page(request, needs, formset=formset, error=error, status=400)
    try:
        points = edited_points(formset, count=len(needs.points))
        needs_summary_edit(needs=needs, actor=request.user, revision=revision, points=points)
    except ProposalError as exc:
        return _needs_page(request, needs, formset=formset, error=str(exc), status=400)
    messages.success(request, "Summary saved: your points are marked as yours and checked like the model's.")
    return redirect("proposals:needs", pk=needs.pk)


@require_POST
@rep_required
def proposal_new(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Create proposal": the chosen offer's template, filled from the summary's checked points."""
    needs = needs_get_for_user(request.user, pk)
    form = CreateProposalForm(request.POST)
    if not form.is_valid():
        return _needs_page(request, needs, create_form=form, status=400)
    try:
        proposal = proposal_create(needs=needs, offer=form.cleaned_data["offer"], actor=request.user)
    except ProposalError as exc:
        return _needs_page(request, needs, create_form=form, error=str(exc), status=400)
    messages.success(request, f"Proposal v{proposal.version} created: check its text, then preview and send it.")
    return redirect("proposals:edit", pk=proposal.pk)


def _proposal_page(request, proposal: Proposal, *, form=None, error: str = "", status: int = 200) -> HttpResponse:
    context = {
        **proposal_context(proposal),  # the packages with their prices written as the PDF writes them
        "lead": proposal.lead,
        "form": form or ProposalForm(instance=proposal),
        "error": error,
    }
    return render(request, PROPOSAL, context, status=status)


@require_http_methods(["GET", "POST"])
@rep_required
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_get_for_user(request.user, pk)
    if request.method == "GET":
        return _proposal_page(request, proposal)
    form = ProposalForm(request.POST, instance=proposal)
    if not form.is_valid():
        return _proposal_page(request, proposal, form=form, error="Fill in what is missing: see below.", status=400)
    try:
        proposal_update(proposal=proposal, actor=request.user, data=form.cleaned_data)
    except ProposalError as exc:
        proposal.refresh_from_db()
        return _proposal_page(request, proposal, form=form, error=str(exc), status=400)
    messages.success(request, "Proposal saved.")
    return redirect("proposals:edit", pk=proposal.pk)


def _pdf_response(data: bytes, proposal: Proposal) -> HttpResponse:
    response = HttpResponse(bytes(data), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="proposal-{proposal.pk}-v{proposal.version}.pdf"'
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
@rep_required
def proposal_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF as it stands: a draft's from its current text, a queued or sent one's as frozen."""
    proposal = proposal_get_for_user(request.user, pk)
    data = proposal.pdf if proposal.pdf is not None else proposal_pdf(proposal)
    return _pdf_response(data, proposal)


@require_POST
@rep_required
def proposal_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_get_for_user(request.user, pk)
    try:
        proposal_send(proposal=proposal, actor=request.user)
    except ProposalError as exc:
        proposal.refresh_from_db()
        return _proposal_page(request, proposal, error=str(exc), status=400)
    messages.success(request, "The proposal's message waits in the approval queue: nothing goes until it is approved.")
    return redirect("proposals:edit", pk=proposal.pk)


@require_POST
@rep_required
def proposal_reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_get_for_user(request.user, pk)
    try:
        proposal_reopen(proposal=proposal, actor=request.user)
    except ProposalError as exc:
        return _proposal_page(request, proposal, error=str(exc), status=400)
    messages.success(request, "Back to draft: edit it and send it again.")
    return redirect("proposals:edit", pk=proposal.pk)


@require_POST
@rep_required
def proposal_new_version_view(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_get_for_user(request.user, pk)
    if proposal.editable:
        return _proposal_page(request, proposal, error="This version is still a draft: edit it.", status=400)
    copy = proposal_new_version(proposal=proposal, actor=request.user)
    messages.success(request, f"Version {copy.version}: a copy to edit. Version {proposal.version} stays as it was.")
    return redirect("proposals:edit", pk=copy.pk)


@login_not_required
@never_cache
@require_GET
def proposal_link_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """The prospect's link: the approved PDF, or 404 for anything else (tampered, replaced, expired, unapproved)."""
    proposal = proposal_for_token(token)
    if proposal is None:
        raise Http404("This link does not lead to a proposal.")
    return _pdf_response(proposal.pdf, proposal)
