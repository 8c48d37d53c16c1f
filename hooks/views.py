from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from hooks.forms import EndpointForm
from hooks.models import Delivery, Endpoint
from hooks.selectors import DELIVERY_LOG_PAGE, delivery_log, endpoint_list
from hooks.services import delivery_replay, endpoint_create, endpoint_delete
from salesdept.roles import manager_required
from salesdept.views_helpers import id_param

ENDPOINTS = "hooks/endpoints.html"
ENDPOINT = "hooks/endpoint.html"


def _endpoints_page(
    request: HttpRequest, *, form: EndpointForm | None = None, status: int = 200, **extra
) -> HttpResponse:
    context = {"endpoints": endpoint_list(), "form": form or EndpointForm()}
    return render(request, ENDPOINTS, context | extra, status=status)


@require_GET
@manager_required
def endpoints(request: HttpRequest) -> HttpResponse:
    """The team's webhook endpoints, their delivery counts, and the form to add one."""
    return _endpoints_page(request)


@sensitive_variables("secret")
@require_POST
@manager_required
def endpoint_add(request: HttpRequest) -> HttpResponse:
    """Add an endpoint; its signing secret is on this one answer only (a reload does not show it again)."""
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _endpoints_page(request, form=form, status=400)
    endpoint, secret = endpoint_create(actor=request.user, **form.cleaned_data)
    return _endpoints_page(request, created=endpoint, secret=secret)


@require_GET
@manager_required
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One endpoint's delivery log, newest first, with response codes; older pages by id."""
    endpoint = get_object_or_404(Endpoint, pk=pk)
    before = request.GET.get("before", "")
    rows = delivery_log(endpoint=endpoint, before=id_param(before))
    rows, more = rows[:DELIVERY_LOG_PAGE], len(rows) > DELIVERY_LOG_PAGE
    context = {"endpoint": endpoint, "deliveries": rows, "older": rows[-1].pk if more else None, "before": before}
    return render(request, ENDPOINT, context)


@require_POST
@manager_required
def endpoint_remove(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} removed: nothing more is sent to it.")
    return redirect("hooks:endpoints")


@require_POST
@manager_required
def delivery_replay_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=pk)
    replay_delivery = delivery_replay(delivery=delivery)
    messages.success(request, f"Event {delivery.event_id} queued again (delivery {replay_delivery.pk}).")
    return redirect("hooks:endpoint", pk=delivery.endpoint_id)
