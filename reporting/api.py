"""/api/v1/stats: the dashboard's numbers for a period and filters, through the dashboard's own form."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from reporting.forms import DashboardFilterForm
from reporting.selectors import campaign_choices, dashboard_data, rep_choices
from salesdept.api import answers, checked, manager_only

router = Router()


class StatsQuery(Schema):
    start: str = Field(
        "", alias="from", max_length=20, description="First day, YYYY-MM-DD; the last 30 days by default."
    )
    end: str = Field("", alias="to", max_length=20, description="Last day, YYYY-MM-DD.")
    campaign: str = Field("", max_length=20, description="A campaign id.")
    rep: str = Field("", max_length=20, description="A rep's user id.")


class StatsOut(Schema):
    start: dt.date
    end: dt.date
    campaign: int | None
    rep: int | None
    funnel: list[dict[str, Any]]
    campaign_funnels: list[dict[str, Any]]
    rates: dict[str, list[dict[str, Any]]]
    costs: dict[str, Any] | None
    backlog: dict[str, Any]
    pipeline: dict[str, Any] = Field(description="Open deals by stage now; won and lost in the period (per currency)")
    conversion: dict[str, Any] = Field(description="Reply → meeting → won in the period")
    conversions: dict[str, list[dict[str, Any]]] = Field(description="Reply → meeting → won by campaign, label, …")


@router.get("", response=answers(s200=StatsOut), url_name="stats", summary="The dashboard's numbers")
def stats(request: HttpRequest, query: Query[StatsQuery]):
    """Funnel, rates by campaign, label, version, rep and account, model cost, the approval backlog and the
    pipeline: deals by stage, won and lost, and conversion from reply to meeting to won."""
    manager_only(request)
    campaigns, reps = campaign_choices(), rep_choices()
    given = {"from": query.start, "to": query.end, "campaign": query.campaign, "rep": query.rep}
    data = checked(DashboardFilterForm(given, campaigns=campaigns, reps=reps))
    numbers = dashboard_data(
        start=data["start"],
        end=data["end"],
        trend_days=7,  # the chart's series, which the API leaves out: the smallest choice costs least
        campaign_id=data["campaign"],
        rep_id=data["rep"],
        campaign_names=dict(campaigns),
        rep_names=dict(reps),
    )
    return {
        "start": data["start"],
        "end": data["end"],
        "campaign": data["campaign"],
        "rep": data["rep"],
        **{
            key: numbers[key]
            for key in ("funnel", "campaign_funnels", "rates", "costs", "backlog", "pipeline", "conversion")
        },
        "conversions": numbers["conversions"],
    }
