from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from crm.forms import ConnectForm, MappingForm
from crm.models import CRMConnection
from crm.selectors import connection_of, sync_log
from crm.services import Check, connection_check, connection_save, mapping_update
from salesdept.roles import manager_required

CONNECTION = "crm/connection.html"


def _kind(kind: str) -> str:
    if kind not in CRMConnection.Kind.values:
        raise Http404("No such CRM.")
    return kind


def _connection_page(
    request: HttpRequest, kind: str, *, form: ConnectForm | None = None, check: Check | None = None, status: int = 200
) -> HttpResponse:
    connection = connection_of(kind)
    context = {
        "kind": kind,
        "kind_label": CRMConnection.Kind(kind).label,
        "connection": connection,
        "form": form or ConnectForm(connection=connection, kind=kind),
        "check": check,
        "runs": sync_log(connection=connection) if connection else [],
    }
    return render(request, CONNECTION, context, status=status)


@require_GET
@manager_required
def index(request: HttpRequest) -> HttpResponse:
    """Each CRM the team can sync with, whether it is connected, and its last run."""
    connections = {c.kind: c for c in CRMConnection.objects.all()}
    rows = [(kind, label, connections.get(kind)) for kind, label in CRMConnection.Kind.choices]
    return render(request, "crm/index.html", {"rows": rows})


@require_GET
@manager_required
def connection(request: HttpRequest, kind: str) -> HttpResponse:
    """Connect (token or connected app, test), Sync now, and the sync log."""
    return _connection_page(request, _kind(kind))


@sensitive_post_parameters("credentials", "client_secret")
@sensitive_variables("credentials", "form")
@require_POST
@manager_required
def connect(request: HttpRequest, kind: str) -> HttpResponse:
    """Test the credentials (the form's, else the stored ones), or test and store them if the CRM answers."""
    kind = _kind(kind)
    stored = connection_of(kind)
    form = ConnectForm(request.POST, connection=stored, kind=kind)
    if not form.is_valid():
        return _connection_page(request, kind, form=form, status=400)
    credentials = form.cleaned_data["credentials"] or stored.credentials
    check = connection_check(kind=kind, credentials=credentials)
    if form.cleaned_data["action"] == "save" and check.ok:
        connection_save(
            kind=kind, credentials=form.cleaned_data["credentials"], actor=request.user,
            connected_as=check.message.removeprefix("Connected as ").rstrip("."),
        )  # fmt: skip
        messages.success(request, f"{check.message} Saved; the next sync sends what changed.")
        return redirect("crm:connection", kind=kind)
    # What was typed stays in the form (a URL, a consumer key); a password input never renders its value.
    return _connection_page(request, kind, form=form, check=check)


@require_POST
@manager_required
def sync_now(request: HttpRequest, kind: str) -> HttpResponse:
    from crm.tasks import crm_sync_task

    stored = connection_of(_kind(kind))
    if stored is None or not stored.is_active or not stored.credentials:
        messages.error(request, "Connect the CRM first: there is nothing to sync with.")
        return redirect("crm:connection", kind=kind)
    full = request.POST.get("full") == "1"
    crm_sync_task.delay_on_commit(stored.pk, full, None, "manual")
    messages.success(request, f"{'Full sync' if full else 'Sync'} started: the log below shows it when it ends.")
    return redirect(f"{reverse('crm:connection', kwargs={'kind': kind})}#crm-log")


def _mapping_page(request: HttpRequest, connection: CRMConnection, form: MappingForm, status: int = 200):
    return render(request, "crm/mapping.html", {"connection": connection, "form": form}, status=status)


@require_GET
@manager_required
def mapping(request: HttpRequest, kind: str) -> HttpResponse:
    """Our contact fields → the CRM's properties; our deal stages → the CRM's stage ids."""
    stored = connection_of(_kind(kind))
    if stored is None:
        raise Http404("Connect the CRM first.")
    return _mapping_page(request, stored, MappingForm(connection=stored))


@require_POST
@manager_required
def mapping_save(request: HttpRequest, kind: str) -> HttpResponse:
    stored = connection_of(_kind(kind))
    if stored is None:
        raise Http404("Connect the CRM first.")
    form = MappingForm(request.POST, connection=stored)
    if not form.is_valid():
        return _mapping_page(request, stored, form, status=400)
    contact, stages = form.values()
    changed = mapping_update(connection=stored, contact=contact, stages=stages)
    messages.success(request, f"Mapping saved ({changed} changed): the next sync sends with it.")
    return redirect("crm:mapping", kind=kind)
