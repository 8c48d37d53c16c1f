from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reporting.selectors import FUNNEL, accounts_health, backlog, funnel, funnel_by_campaign
from salesdept.roles import manager_required
from salesdept.views_helpers import partial_or_page


@require_GET
@manager_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        "funnel": funnel(),
        "stages": [stage for stage, _ in FUNNEL],
        "campaign_rows": funnel_by_campaign(),
        "backlog": backlog(),
        "accounts": accounts_health(),
    }
    return render(request, partial_or_page(request, "reporting/dashboard.html", "dashboard-body"), context)
