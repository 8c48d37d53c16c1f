import csv
from collections.abc import Iterable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from reporting.alerts import alerts_open
from reporting.forms import DashboardFilterForm, Filters
from reporting.models import STAGES
from reporting.selectors import (
    CONVERSION_DIMENSIONS,
    DIMENSIONS,
    RATE_STAGES,
    STAGE_LABELS,
    campaign_choices,
    dashboard_data,
    rep_choices,
)
from salesdept.csvsafe import spreadsheet_row
from salesdept.people import display_name
from salesdept.roles import manager_required
from salesdept.views_helpers import partial_or_page, rate_limited

RATE_TITLES = {
    "campaign": "Campaign",
    "label": "Label",
    "version": "Message version",
    "rep": "Rep",
    "account": "Sending account",
}


def _filtered(request: HttpRequest) -> tuple[DashboardFilterForm, Filters, dict]:
    """The filter form, the filters it gives (the defaults when it is wrong) and the numbers for them."""
    campaigns, reps = campaign_choices(), rep_choices()
    form = DashboardFilterForm(request.GET or None, campaigns=campaigns, reps=reps)
    filters = form.filters()
    if not form.errors:
        form = DashboardFilterForm.showing(filters, campaigns=campaigns, reps=reps)
    data = dashboard_data(
        start=filters.start,
        end=filters.end,
        trend_days=filters.trend_days,
        campaign_id=filters.campaign_id,
        rep_id=filters.rep_id,
        campaign_names=dict(campaigns),
        rep_names=dict(reps),
    )
    return form, filters, data


@require_GET
@manager_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form, filters, data = _filtered(request)
    template = partial_or_page(request, "reporting/dashboard.html", "dashboard-body")
    context = {
        **data,
        "form": form,
        "filters": filters,
        "query": filters.query(),
        "stages": [STAGE_LABELS[stage] for stage in STAGES],
        "rate_tables": [(dimension, RATE_TITLES[dimension], data["rates"][dimension]) for dimension in DIMENSIONS],
        "conversion_tables": [
            (dimension, RATE_TITLES[dimension], data["conversions"][dimension]) for dimension in CONVERSION_DIMENSIONS
        ],
        "pipeline_closed": [("Won", data["pipeline"]["won"]), ("Lost", data["pipeline"]["lost"])],
        "campaign_name": dict(form.fields["campaign"].choices).get(filters.campaign_id),
        "rep_name": dict(form.fields["rep"].choices).get(filters.rep_id),
    }
    if not template.endswith("#dashboard-body"):
        context["alerts"] = alerts_open()
    return render(request, template, context)


@require_GET
@manager_required
@rate_limited("export")
def dashboard_export(request: HttpRequest, table: str) -> HttpResponse:
    """One of the dashboard's tables as CSV, for the same filters."""
    if table not in CSV_TABLES:
        raise Http404("No such table.")
    _, filters, data = _filtered(request)
    headers, rows = CSV_TABLES[table](data)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dashboard-{table}-{filters.start}-to-{filters.end}.csv"'
    writer = csv.writer(response)
    writer.writerow(spreadsheet_row(headers))
    writer.writerows(spreadsheet_row(row) for row in rows)
    return response


def _funnel_csv(data: dict) -> tuple[list, Iterable]:
    headers = ["Campaign", *(STAGE_LABELS[s] for s in STAGES)]
    rows = [[row["name"], *row["counts"]] for row in data["campaign_funnels"]]
    rows.append(["All campaigns", *(row["count"] for row in data["funnel"])])
    return headers, rows


def _rates_csv(dimension: str):
    def table(data: dict) -> tuple[list, Iterable]:
        headers = [RATE_TITLES[dimension], "Sent", "Accepted", "Acceptance rate (%)", "Replied", "Reply rate (%)"]
        headers += ["Positive", "Positive reply rate (%)"]
        rows = [
            [r["name"], r["sent"], r["accepted"], r["acceptance"], r["replied"], r["reply"], r["positive"]]
            + [r["positive_rate"]]
            for r in data["rates"][dimension]
        ]
        return headers, rows

    return table


def _trend_csv(data: dict) -> tuple[list, Iterable]:
    headers = ["Day", *(STAGE_LABELS[s] for s in RATE_STAGES)]
    return headers, [[row["day"].isoformat(), *(row[s] for s in RATE_STAGES)] for row in data["trend"]["rows"]]


def _costs_csv(data: dict) -> tuple[list, Iterable]:
    headers = ["Model cost (USD)", "Model calls", "Leads found", "Replies", "Meetings"]
    headers += ["Cost per lead (USD)", "Cost per reply (USD)", "Cost per meeting (USD)"]
    costs = data["costs"]
    if costs is None:  # filtered by rep: model calls are not counted per rep
        return headers, []
    keys = ["cost", "calls", "found", "replied", "meetings", "per_lead", "per_reply", "per_meeting"]
    return headers, [[costs[key] for key in keys]]


def _accounts_csv(data: dict) -> tuple[list, Iterable]:
    headers = ["Account", "Channel", "Owner", "Health", "Reason", "Sent", "Send errors", "Error rate (%)"]
    rows = [
        [a.name, a.get_channel_display(), display_name(a.owner), a.get_health_display(), a.health_reason]
        + [row["sent"], row["errors"], row["error_rate"]]
        for row in data["accounts"]
        for a in [row["account"]]
    ]
    return headers, rows


def _backlog_csv(data: dict) -> tuple[list, Iterable]:
    headers = ["Waiting for approval", "Oldest waiting since", "Over 1 day", "Over 3 days", "Over 7 days"]
    headers.append("Sends needing a check")
    b = data["backlog"]
    oldest = timezone.localtime(b["oldest"]).isoformat(timespec="minutes") if b["oldest"] else None
    return headers, [[b["pending"], oldest, b["over_1d"], b["over_3d"], b["over_7d"], b["unknown"]]]


PIPELINE_HEADERS = ["Stage", "Deals", "Currency", "Deals in this currency", "Value", "Probability (%)"]
PIPELINE_HEADERS += ["Weighted value", "Average days to close"]


def _pipeline_csv(data: dict) -> tuple[list, Iterable]:
    """Open deals now by stage, then won and lost in the period: a row per stage and currency."""
    pipeline, rows = data["pipeline"], []
    for stage in pipeline["open"]["stages"]:
        name = f"{stage['name']} (open now)"
        for currency in stage["counts"] or [""]:
            value = stage["value"].get(currency, 0)
            weighted = stage["weighted"].get(currency, 0)
            count = stage["counts"].get(currency, 0)
            rows.append([name, stage["deals"], currency, count, value, stage["probability"], weighted, None])
    for outcome, title in (("won", "Won in the period"), ("lost", "Lost in the period")):
        closed = pipeline[outcome]
        for currency in closed["counts"] or [""]:
            count, value = closed["counts"].get(currency, 0), closed["value"].get(currency, 0)
            rows.append([title, closed["deals"], currency, count, value, None, None, closed["avg_days"]])
    return PIPELINE_HEADERS, rows


def _lost_reasons_csv(data: dict) -> tuple[list, Iterable]:
    lost = data["pipeline"]["lost"]
    rows = [[row["reason"], row["deals"]] for row in lost["reasons"]]
    if lost["other_reasons"]:
        rows.append(["Other reasons", lost["other_reasons"]])
    return ["Lost reason", "Deals"], rows


CONVERSION_HEADERS = ["Replied", "Meetings", "Won", "Reply to meeting (%)", "Meeting to won (%)", "Reply to won (%)"]
CONVERSION_KEYS = ["replied", "meeting", "won", "meeting_rate", "won_rate", "reply_to_won"]


def _conversion_csv(dimension: str):
    def table(data: dict) -> tuple[list, Iterable]:
        rows = [[row["name"], *(row[key] for key in CONVERSION_KEYS)] for row in data["conversions"][dimension]]
        rows.append(["All", *(data["conversion"][key] for key in CONVERSION_KEYS)])
        return [RATE_TITLES[dimension], *CONVERSION_HEADERS], rows

    return table


CSV_TABLES = {
    "funnel": _funnel_csv,
    **{f"rates-{dimension}": _rates_csv(dimension) for dimension in DIMENSIONS},
    "trend": _trend_csv,
    "costs": _costs_csv,
    "accounts": _accounts_csv,
    "backlog": _backlog_csv,
    "pipeline": _pipeline_csv,
    "pipeline-lost-reasons": _lost_reasons_csv,
    **{f"conversion-{dimension}": _conversion_csv(dimension) for dimension in CONVERSION_DIMENSIONS},
}
