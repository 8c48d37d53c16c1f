import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.selectors import lead_sync_state
from deals.forms import DealFieldsForm
from deals.selectors import deal_open_of
from deals.services import OPENABLE
from leads.csvread import DELIMITER_NAMES, ENCODING_NAMES, ImportFileError
from leads.exports import lead_csv_lines
from leads.forms import (
    DoNotContactForm,
    ImportMappingForm,
    ImportUploadForm,
    LeadFilterForm,
    RelabelForm,
    ScoreOverrideForm,
    SnoozeUntilForm,
    TaskForm,
    WriteMessageForm,
)
from leads.imports import (
    csv_import_create,
    csv_import_start,
    import_preview,
    import_progress,
    import_qualification,
    max_size_label,
)
from leads.lifecycle import Trigger, can_move, refusal
from leads.models import ImportJob, Lead, Task
from leads.privacy import lead_erase, lead_export_record
from leads.selectors import (
    import_get_for_user,
    imports_visible_to,
    lead_conversation,
    lead_get_for_user,
    lead_list_for,
    lead_page,
    lead_snooze_origin,
    lead_sorted,
    lead_tasks,
    lead_timeline,
    task_get_for_user,
    tasks_open_for,
)
from leads.services import (
    REQUALIFIABLE,
    lead_book_meeting,
    lead_override_score,
    lead_relabel,
    lead_requalify,
    lead_set_do_not_contact,
    lead_set_nurture,
    lead_snooze,
    task_add,
    task_close,
)
from outreach.selectors import kind_to_write, kinds_to_write
from salesdept import clock, dates
from salesdept.errors import DecisionError
from salesdept.roles import manager_required, rep_required
from salesdept.views_helpers import form_errors_text, partial_or_page, rate_limited

TIMELINE_LENGTH = 200
RECENT_IMPORTS = 10


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
def lead_list_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The list as filtered on the page, every page of it, streamed: a rep gets only their own leads."""
    form = LeadFilterForm(request.GET, user=request.user)
    leads = lead_sorted(lead_list_for(request.user, **form.filters()), sort=form.chosen_sort())
    response = StreamingHttpResponse(lead_csv_lines(leads), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{clock.today():%Y-%m-%d}.csv"'
    return response


def _lead_today(lead: Lead) -> dt.date:
    """Today where the lead is: a snooze ends on their calendar."""
    return clock.today(dates.zone(lead.timezone))


def _lead_page(
    lead: Lead,
    snooze_form: SnoozeUntilForm | None = None,
    task_form: TaskForm | None = None,
    *,
    user=None,
    write_form: WriteMessageForm | None = None,
    deal_form: DealFieldsForm | None = None,
) -> dict:
    deal = deal_open_of(lead)
    kinds = kinds_to_write(user) if user is not None and write_form is None else []
    return {
        "write_form": write_form or WriteMessageForm(kinds=kinds, initial={"kind": kind_to_write(lead, kinds)}),
        "lead": lead,
        "tasks": lead_tasks(lead),
        "task_form": task_form or TaskForm(),
        "today": _lead_today(lead),
        "relabel_form": RelabelForm(initial={"label": lead.label}, lead=lead),
        "can_requalify": lead.status in REQUALIFIABLE and lead.campaign_id is not None,
        "timeline": lead_timeline(lead)[:TIMELINE_LENGTH],
        "conversation": lead_conversation(lead),
        "dnc_form": DoNotContactForm(),
        "score_form": ScoreOverrideForm(initial={"score": lead.score_override}),
        "snooze_form": snooze_form or SnoozeUntilForm(initial={"until": lead.snoozed_until}, today=_lead_today(lead)),
        "snooze_origin": lead_snooze_origin(lead),
        "can_book_meeting": can_move(lead.status, trigger=Trigger.REP_BOOKS_MEETING, to=Lead.Status.MEETING),
        "crm_records": lead_sync_state(lead),
        "deal": deal,
        "deal_form": deal_form or (DealFieldsForm() if deal is None and lead.status in OPENABLE else None),
    }


def lead_page_response(request: HttpRequest, lead: Lead, *, deal_form: DealFieldsForm, status: int) -> HttpResponse:
    """The lead's page again with the "Open a deal" form's errors (deals.views posts it)."""
    return render(
        request, "leads/lead_detail.html", _lead_page(lead, user=request.user, deal_form=deal_form), status=status
    )


@require_GET
@rep_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    return render(request, "leads/lead_detail.html", _lead_page(lead, user=request.user))


@require_POST
@rep_required
def lead_snooze_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A rep corrects the date a snoozed lead wakes on, e.g. when a reply's date was misread."""
    lead = lead_get_for_user(request.user, pk)
    form = SnoozeUntilForm(request.POST, today=_lead_today(lead))
    template = partial_or_page(request, "leads/lead_detail.html", "lead-snooze")
    if not form.is_valid():
        return render(request, template, _lead_page(lead, form, user=request.user))
    until = form.cleaned_data["until"]
    if not lead_snooze(lead=lead, actor=request.user, until=until, reason="Date corrected on the lead page"):
        form.add_error("until", f"{lead} is {lead.get_status_display().lower()}: there is nothing to snooze.")
        return render(request, template, _lead_page(lead, form, user=request.user))
    if request.htmx:
        context = _lead_page(lead, user=request.user) | {"notice": f"Snoozed until {until:%a %-d %b %Y}."}
        return render(request, template, context)
    messages.success(request, f"{lead} is snoozed until {until:%a %-d %b %Y}.")
    return redirect("leads:detail", pk=lead.pk)


@require_POST
@rep_required
def lead_write(request: HttpRequest, pk: int) -> HttpResponse:
    """A rep writes their own message to a lead: checked by the guardrails, then sent in its window."""
    from approvals.services import message_write  # the decision layer sits above leads

    lead = lead_get_for_user(request.user, pk)
    form = WriteMessageForm(request.POST, kinds=kinds_to_write(request.user))
    template = partial_or_page(request, "leads/lead_detail.html", "lead-write")
    if form.is_valid():
        try:
            message = message_write(lead=lead, actor=request.user, **form.cleaned_data)
        except DecisionError as exc:
            form.add_error(None, str(exc))
        else:
            notice = f"Approved: your {message.get_kind_display().lower()} to {lead} goes out in its sending window."
            if request.htmx:
                context = _lead_page(lead, user=request.user) | {"write_notice": notice}
                return render(request, template, context)
            messages.success(request, notice)
            return redirect("leads:detail", pk=lead.pk)
    return render(request, template, _lead_page(lead, user=request.user, write_form=form))


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
def lead_meeting(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    if lead_book_meeting(lead=lead, actor=request.user):
        messages.success(request, f"Meeting with {lead} noted; the rest of the sequence is cancelled.")
    else:
        messages.error(request, refusal(lead, trigger=Trigger.REP_BOOKS_MEETING, to=Lead.Status.MEETING))
    return redirect("leads:detail", pk=lead.pk)


@require_POST
@rep_required
def lead_nurture(request: HttpRequest, pk: int) -> HttpResponse:
    """The rep's switch for weekly nurturing touches to this person."""
    lead = lead_get_for_user(request.user, pk)
    enabled = {"on": True, "off": False}.get(request.POST.get("nurture", ""))
    if enabled is None:
        messages.error(request, "Choose whether nurturing is on or off.")
    elif lead_set_nurture(lead=lead, actor=request.user, enabled=enabled):
        state = "on: a useful touch may be suggested when they go quiet" if enabled else "off for them"
        messages.success(request, f"Nurturing is {state}.")
    else:
        messages.info(request, f"Nurturing was already {'on' if enabled else 'off'} for {lead}.")
    return redirect("leads:detail", pk=lead.pk)


@require_POST
@rep_required
def lead_score(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    form = ScoreOverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
    else:
        score = form.cleaned_data["score"]
        lead_override_score(lead=lead, actor=request.user, score=score, reason=form.cleaned_data["reason"])
        messages.success(request, f"Score set to {score}." if score is not None else "Back to the rule score.")
    return redirect("leads:detail", pk=lead.pk)


@require_POST
@rep_required
def lead_relabel_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    form = RelabelForm(request.POST, lead=lead)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
    elif lead_relabel(lead=lead, actor=request.user, label=form.cleaned_data["label"]):
        messages.success(request, f"Labelled {lead.label}: the next draft leads with its angle.")
    else:
        messages.info(request, f"{lead} is already labelled {lead.label}.")
    return redirect("leads:detail", pk=lead.pk)


@require_POST
@rep_required
def lead_requalify_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    if lead_requalify(lead=lead, actor=request.user):
        lead.refresh_from_db()
        messages.success(request, f"Qualified again: {lead.get_status_display().lower()}, score {lead.score}.")
    else:
        messages.error(
            request, f"{lead} is {lead.get_status_display().lower()}: qualification runs only before contact."
        )
    return redirect("leads:detail", pk=lead.pk)


@require_POST
@rep_required
def lead_task_add(request: HttpRequest, pk: int) -> HttpResponse:
    """A task in plain words ("follow up next Tuesday about the pricing PDF"), read as a dated task."""
    lead = lead_get_for_user(request.user, pk)
    form = TaskForm(request.POST)
    template = partial_or_page(request, "leads/lead_detail.html", "lead-tasks")
    if not form.is_valid():
        return render(request, template, _lead_page(lead, task_form=form, user=request.user))
    task = task_add(lead=lead, actor=request.user, text=form.cleaned_data["text"])
    notice = f"Task due {task.due_on:%a %-d %b %Y}: its draft will wait for approval in the queue that day."
    if request.htmx:
        return render(request, template, _lead_page(lead, user=request.user) | {"task_notice": notice})
    messages.success(request, notice)
    return redirect("leads:detail", pk=lead.pk)


def _task_close(request: HttpRequest, pk: int, to: str) -> HttpResponse:
    task = task_get_for_user(request.user, pk)
    if task_close(task=task, actor=request.user, to=to):
        messages.success(request, f"“{task.text}” is {task.get_status_display().lower()}.")
    else:
        messages.info(request, f"“{task.text}” was already {task.get_status_display().lower()}.")
    if request.POST.get("back") == "tasks":
        return redirect("leads:tasks")
    return redirect("leads:detail", pk=task.lead_id)


@require_POST
@rep_required
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_close(request, pk, Task.Status.DONE)


@require_POST
@rep_required
def task_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_close(request, pk, Task.Status.CANCELLED)


@require_GET
@rep_required
def task_list(request: HttpRequest) -> HttpResponse:
    """My tasks: open ones, soonest due first; a manager sees everyone's."""
    owner = request.GET.get("owner", "")
    tasks = tasks_open_for(request.user, owner=int(owner) if owner.isdigit() else None)
    return render(request, "leads/task_list.html", {"tasks": tasks})


@require_http_methods(["GET", "POST"])
@rep_required
def import_new(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = csv_import_create(
                user=request.user, file_name=upload.name, data=upload.read(), campaign=form.cleaned_data["campaign"]
            )
        except ImportFileError as error:
            form.add_error("file", str(error))
        else:
            return redirect("leads:import_detail", pk=job.pk)
    jobs = imports_visible_to(request.user)[:RECENT_IMPORTS]
    context = {"form": form, "jobs": jobs, "max_size": max_size_label()}
    return render(request, "leads/import_new.html", context)


@require_http_methods(["GET", "POST"])
@rep_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview and column mapping of an uploaded file; once started, its progress."""
    job = import_get_for_user(request.user, pk)
    if job.status != ImportJob.Status.UPLOADED:
        context = {"job": job, "progress": import_progress(job), "qualification": import_qualification(job)}
        return render(request, "leads/import_progress.html", context)
    rows = import_preview(job)
    examples = {header: next((row[i] for _, row in rows if row[i].strip()), "") for i, header in enumerate(job.headers)}
    form = ImportMappingForm(request.POST or None, headers=job.headers, examples=examples, initial=job.mapping)
    if request.method == "POST" and form.is_valid():
        if not csv_import_start(job=job, mapping=form.mapping()):
            messages.info(request, "This import had already started.")
        return redirect("leads:import_detail", pk=job.pk)
    context = {
        "job": job,
        "rows": rows,
        "form": form,
        "encoding_name": ENCODING_NAMES.get(job.encoding, job.encoding),
        "delimiter_name": DELIMITER_NAMES.get(job.delimiter, repr(job.delimiter)),
    }
    return render(request, "leads/import_preview.html", context)


@require_GET
@rep_required
def import_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_get_for_user(request.user, pk)
    template = partial_or_page(request, "leads/import_progress.html", "import-progress")
    context = {"job": job, "progress": import_progress(job), "qualification": import_qualification(job)}
    return render(request, template, context)


@require_GET
@rep_required
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """The rows left out and why, as a CSV a spreadsheet opens (the BOM tells Excel it is UTF-8)."""
    job = import_get_for_user(request.user, pk)
    if not job.error_report:
        raise Http404("This import left no rows out.")
    response = HttpResponse("\ufeff" + job.error_report, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rows-left-out.csv"'
    return response


class PersonEraseForm(forms.Form):
    """Erasure cannot be undone: a reason for the record, and the person's name typed to confirm."""

    reason = forms.CharField(max_length=300, error_messages={"required": "Say why the person is erased."})
    confirm_name = forms.CharField(
        max_length=250, error_messages={"required": "Type the person's name to confirm the erasure."}
    )

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead = lead

    def clean_confirm_name(self) -> str:
        typed = " ".join(self.cleaned_data["confirm_name"].split())
        if typed.casefold() != self.lead.full_name.casefold():
            raise forms.ValidationError(f"The name typed is not {self.lead.full_name}: nothing was erased.")
        return typed


@require_GET
@manager_required
@rate_limited("export")
def lead_export_view(request: HttpRequest, pk: int) -> JsonResponse:
    lead = lead_get_for_user(request.user, pk)
    response = JsonResponse(lead_export_record(lead=lead, actor=request.user), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="person-{lead.pk}.json"'
    return response


@require_POST
@manager_required
def lead_erase_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    form = PersonEraseForm(request.POST, lead=lead)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("leads:detail", pk=lead.pk)
    lead_erase(lead=lead, actor=request.user, reason=form.cleaned_data["reason"])
    messages.success(request, "The person's data is erased; their addresses stay on the suppression list.")
    return redirect("leads:list")
