"""Reads for managers: the dashboard's and the daily report's numbers.

Every number over a period (funnel, rates, trends, model cost, send errors) sums
`reporting.DailyCount` rows: the Activity log is never scanned, whatever its size. A stage's
row carries the dimensions known when it was reached (a lead found before it had an owner
counts for rep 0, "none"), so filtering by rep or account narrows to what was known then.
Live reads are kept to small, indexed tables: the approval backlog and the sending accounts.

Periods are inclusive local dates. Counts are people for STAGES and events for EVENTS.
Rates are percentages (one decimal) or None when nothing was sent: shown as "–".
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, Min, OuterRef, Q, QuerySet, Sum, Value

from approvals.selectors import COUNTED_WAITING
from campaigns.models import Campaign
from outreach.models import OutreachMessage, SendingAccount
from reporting.models import EVENTS, STAGES, DailyCount
from reporting.pipeline import pipeline
from salesdept import clock
from salesdept.models import LLMCall
from salesdept.people import display_name
from salesdept.roles import ROLES

STAGE_LABELS = {stage: stage.capitalize() for stage in STAGES}
# The stages a rate is made of: acceptance, reply and positive reply, each over sent.
RATE_STAGES = ["sent", "accepted", "replied", "positive"]
# A rate table's dimension → the DailyCount column it groups by.
DIMENSIONS = {
    "campaign": "campaign_id",
    "label": "label",
    "version": "version",
    "rep": "rep_id",
    "account": "account_id",
}
# What a dimension's "none" (0 or "") is called.
NONE_NAMES = {
    "campaign": "No campaign",
    "label": "No label",
    "version": "Unknown",
    "rep": "No owner yet",
    "account": "No account",
}
# The stages conversion is made of, after the first answer: reply → meeting → won.
CONVERSION_STAGES = ["replied", "meeting", "won"]
# The dimensions conversion is shown by (a meeting or a win carries the version and account of the
# message replied to: reporting.metrics.REPLY_ATTRIBUTED).
CONVERSION_DIMENSIONS = ["campaign", "label", "version", "rep"]
TREND_DAYS = (7, 30, 90)
BACKLOG_AGES = (1, 3, 7)  # days: how many drafts waited longer than each


def rate(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, one decimal; None when `whole` is 0."""
    return round(100 * part / whole, 1) if whole else None


def conversion(n: dict) -> dict:
    """Reply → meeting → won from a count per stage: the counts, then meetings of replies, wins of
    meetings and wins of replies as percentages (None when the stage before has nobody)."""
    replied, meeting, won = (n.get(stage, 0) for stage in CONVERSION_STAGES)
    return {
        "replied": replied,
        "meeting": meeting,
        "won": won,
        "meeting_rate": rate(meeting, replied),
        "won_rate": rate(won, meeting),
        "reply_to_won": rate(won, replied),
    }


def per(cost: Decimal, n: int) -> Decimal | None:
    """Cost per one of `n` (4 decimals), None when there are none."""
    return (cost / n).quantize(Decimal("0.0001")) if n else None


def _counts(
    *, start: dt.date | None, end: dt.date | None, campaign_id: int | None, rep_id: int | None
) -> QuerySet[DailyCount]:
    counts = DailyCount.objects.all()
    if start:
        counts = counts.filter(day__gte=start)
    if end:
        counts = counts.filter(day__lte=end)
    if campaign_id:
        counts = counts.filter(campaign_id=campaign_id)
    if rep_id:
        counts = counts.filter(rep_id=rep_id)
    return counts


@dataclass
class Counts:
    """A period's daily counts summed per stage and dimension: one query, read many ways.

    `rows` are dicts with stage, campaign_id, rep_id, account_id, label, version, n and cost.
    """

    rows: list[dict]
    rep_filtered: bool = False
    _totals: dict = field(default_factory=dict, init=False)

    def total(self, stage: str) -> int:
        if not self._totals:
            totals: dict[str, int] = defaultdict(int)
            for row in self.rows:
                totals[row["stage"]] += row["n"]
            self._totals = dict(totals)
        return self._totals.get(stage, 0)

    def by(self, dimension: str, stages: list[str]) -> dict:
        """{key: {stage: n}} for one dimension's column (campaign_id, label, …)."""
        column = DIMENSIONS[dimension]
        out: dict = defaultdict(lambda: dict.fromkeys(stages, 0))
        for row in self.rows:
            if row["stage"] in stages:
                out[row[column]][row["stage"]] += row["n"]
        return dict(out)

    def funnel(self) -> list[dict]:
        """People at each stage in funnel order: [{"key": "found", "stage": "Found", "count": n}]."""
        return [{"key": stage, "stage": STAGE_LABELS[stage], "count": self.total(stage)} for stage in STAGES]

    def funnel_by_campaign(self, names: dict[int, str]) -> list[dict]:
        """One row per campaign with counts in the period: {"campaign_id", "name", "counts": [per stage]}."""
        per_campaign = self.by("campaign", STAGES)
        rows = [
            {"campaign_id": key, "name": _name("campaign", key, names), "counts": [stages[s] for s in STAGES]}
            for key, stages in per_campaign.items()
            if any(stages.values())
        ]
        return sorted(rows, key=lambda row: (row["campaign_id"] == 0, row["name"].lower()))

    def rates(self, dimension: str, names: dict | None = None) -> list[dict]:
        """Acceptance, reply and positive-reply rates (of sent) per key of `dimension`, most sent first.

        Each row: key, name, sent, accepted, replied, positive, acceptance, reply, positive_rate.
        """
        rows = []
        for key, n in self.by(dimension, RATE_STAGES).items():
            if not any(n.values()):
                continue
            rows.append(
                {
                    "key": key,
                    "name": _name(dimension, key, names or {}),
                    **n,
                    "acceptance": rate(n["accepted"], n["sent"]),
                    "reply": rate(n["replied"], n["sent"]),
                    "positive_rate": rate(n["positive"], n["sent"]),
                }
            )
        return sorted(rows, key=lambda row: (-row["sent"], str(row["name"]).lower()))

    def conversion_total(self) -> dict:
        return conversion({stage: self.total(stage) for stage in CONVERSION_STAGES})

    def conversions(self, dimension: str, names: dict | None = None) -> list[dict]:
        """Reply → meeting → won per key of `dimension`, most replies first.

        Each row: key, name, replied, meeting, won, meeting_rate (of replied), won_rate (of meetings),
        reply_to_won (of replied). People who reached each stage in the period, like the funnel.
        """
        rows = [
            {"key": key, "name": _name(dimension, key, names or {}), **conversion(n)}
            for key, n in self.by(dimension, CONVERSION_STAGES).items()
            if any(n.values())
        ]
        return sorted(rows, key=lambda row: (-row["replied"], -row["won"], str(row["name"]).lower()))

    def llm_cost_per(self) -> dict | None:
        """Model cost in total and per lead found, reply and meeting; None when filtered by rep.

        Model calls are counted per campaign, not per rep: a rep's share is not known.
        """
        if self.rep_filtered:
            return None
        cost = sum((row["cost"] or Decimal(0) for row in self.rows if row["stage"] == "llm"), Decimal(0))
        found, replied, meetings = self.total("found"), self.total("replied"), self.total("meeting")
        return {
            "cost": cost.quantize(Decimal("0.0001")),
            "calls": self.total("llm"),
            "found": found,
            "replied": replied,
            "meetings": meetings,
            "per_lead": per(cost, found),
            "per_reply": per(cost, replied),
            "per_meeting": per(cost, meetings),
        }

    def send_errors(self) -> dict[int, dict]:
        """{account_id: {"sent", "errors", "error_rate"}}: errors over attempts (sent + errors)."""
        out = {}
        for key, n in self.by("account", ["sent", "send_error"]).items():
            attempts = n["sent"] + n["send_error"]
            out[key] = {"sent": n["sent"], "errors": n["send_error"], "error_rate": rate(n["send_error"], attempts)}
        return out


def _name(dimension: str, key, names: dict) -> str:
    if not key:
        return NONE_NAMES[dimension]
    if dimension in ("label", "version"):
        return key
    return names.get(key) or f"{dimension.capitalize()} #{key} (deleted)"


def daily_counts(
    *, start: dt.date | None, end: dt.date | None, campaign_id: int | None = None, rep_id: int | None = None
) -> Counts:
    """Every stage and event of the period (None: unbounded), summed per dimension combination (one query)."""
    rows = (
        _counts(start=start, end=end, campaign_id=campaign_id, rep_id=rep_id)
        .filter(stage__in=STAGES + EVENTS)
        .values("stage", *DIMENSIONS.values())
        .annotate(n=Sum("count"), cost=Sum("cost_usd"))
        .order_by()
    )
    return Counts(rows=list(rows), rep_filtered=bool(rep_id))


def funnel(
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    campaign_id: int | None = None,
    rep_id: int | None = None,
) -> list[dict]:
    """People at each stage over the period, all time without one (one query). See Counts.funnel."""
    return daily_counts(start=start, end=end, campaign_id=campaign_id, rep_id=rep_id).funnel()


def funnel_by_campaign(
    *, start: dt.date, end: dt.date, campaign_id: int | None = None, rep_id: int | None = None
) -> list[dict]:
    """The funnel per campaign with counts in the period (two queries: counts, names)."""
    counts = daily_counts(start=start, end=end, campaign_id=campaign_id, rep_id=rep_id)
    ids = {row["campaign_id"] for row in counts.rows}
    return counts.funnel_by_campaign(names_for("campaign", ids))


def rates(
    dimension: str, *, start: dt.date, end: dt.date, campaign_id: int | None = None, rep_id: int | None = None
) -> list[dict]:
    """Acceptance, reply and positive-reply rates by campaign, label, version, rep or account (≤ two queries)."""
    counts = daily_counts(start=start, end=end, campaign_id=campaign_id, rep_id=rep_id)
    keys = {row[DIMENSIONS[dimension]] for row in counts.rows}
    return counts.rates(dimension, names_for(dimension, keys))


def llm_cost_per(*, start: dt.date, end: dt.date, campaign_id: int | None = None) -> dict:
    """Model cost, calls, and cost per lead found, per reply and per meeting over the period (one query)."""
    return daily_counts(start=start, end=end, campaign_id=campaign_id).llm_cost_per()


def send_error_rates(*, start: dt.date, end: dt.date, campaign_id: int | None = None) -> dict[int, dict]:
    """Per account id: sends, send errors and errors / (sent + errors) as a percentage (one query)."""
    return daily_counts(start=start, end=end, campaign_id=campaign_id).send_errors()


def trend(*, days: int, end: dt.date, campaign_id: int | None = None, rep_id: int | None = None) -> dict:
    """A daily series of sent, accepted, replied and positive for the `days` days up to `end` (one query).

    {"days": [date, …], "series": {stage: [n per day]}, "rows": [{"day", stage: n, …}]}: every day is
    there, 0 when nothing happened.
    """
    start = end - dt.timedelta(days=days - 1)
    rows = (
        _counts(start=start, end=end, campaign_id=campaign_id, rep_id=rep_id)
        .filter(stage__in=RATE_STAGES)
        .values("day", "stage")
        .annotate(n=Sum("count"))
        .order_by()
    )
    found = {(row["day"], row["stage"]): row["n"] for row in rows}
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    series = {stage: [found.get((day, stage), 0) for day in dates] for stage in RATE_STAGES}
    table = [{"day": day, **{stage: series[stage][i] for stage in RATE_STAGES}} for i, day in enumerate(dates)]
    return {"days": dates, "series": series, "rows": table, "start": start, "end": end}


def trend_chart_data(series: dict) -> dict:
    """The trend as the chart script reads it (JSON-safe)."""
    return {
        "labels": [day.isoformat() for day in series["days"]],
        "series": [{"key": s, "label": STAGE_LABELS[s], "values": series["series"][s]} for s in RATE_STAGES],
    }


def backlog(*, campaign_id: int | None = None, rep_id: int | None = None, now: dt.datetime | None = None) -> dict:
    """Drafts waiting for approval now: how many, the oldest's time, and how many waited over 1, 3 and 7 days.

    Waiting is what the approval queue shows a manager (approvals.selectors.COUNTED_WAITING): a snoozed
    lead's draft or one a guardrail stopped is not in the backlog, as it is not in the queue.
    Also "unknown": sends whose outcome needs a person's check. One query on indexed statuses.
    """
    now = now or clock.now()
    pending = COUNTED_WAITING
    messages = OutreachMessage.objects.filter(
        status__in=[OutreachMessage.Status.PENDING_APPROVAL, OutreachMessage.Status.UNKNOWN]
    )
    if campaign_id:
        messages = messages.filter(campaign_id=campaign_id)
    if rep_id:
        messages = messages.filter(lead__owner_id=rep_id)
    ages = {
        f"over_{d}d": Count("pk", filter=pending & Q(created_at__lt=now - dt.timedelta(days=d))) for d in BACKLOG_AGES
    }
    result = messages.aggregate(
        pending=Count("pk", filter=pending),
        oldest=Min("created_at", filter=pending),
        unknown=Count("pk", filter=Q(status=OutreachMessage.Status.UNKNOWN)),
        **ages,
    )
    result["oldest_age"] = now - result["oldest"] if result["oldest"] else None
    return result


def accounts_health(*, campaign_id: int | None = None, rep_id: int | None = None) -> QuerySet[SendingAccount]:
    """Sending accounts with their owner (a campaign's, or a rep's own), by name."""
    accounts = SendingAccount.objects.select_related("owner").order_by("name")
    if campaign_id:
        accounts = accounts.filter(campaigns__pk=campaign_id)
    if rep_id:
        accounts = accounts.filter(owner_id=rep_id)
    return accounts


def _accounts_marked(*, campaign_id: int | None, rep_id: int | None) -> QuerySet[SendingAccount]:
    """All accounts, each marked `in_filter` when it is the campaign's and the rep's (one query)."""
    in_filter = Q()
    if campaign_id:
        through = Campaign.sending_accounts.through.objects.filter(
            campaign_id=campaign_id, sendingaccount=OuterRef("pk")
        )
        in_filter &= Q(Exists(through))
    if rep_id:
        in_filter &= Q(owner_id=rep_id)
    marked = ExpressionWrapper(in_filter, output_field=BooleanField()) if in_filter else Value(True)
    return SendingAccount.objects.select_related("owner").annotate(in_filter=marked).order_by("name")


def campaign_choices() -> list[tuple[int, str]]:
    return list(Campaign.objects.order_by("name").values_list("pk", "name"))


def rep_choices() -> list[tuple[int, str]]:
    """People with a role (reps own leads; managers may): id and display name (one query)."""
    people = (
        get_user_model()
        .objects.filter(groups__name__in=ROLES)
        .distinct()
        .order_by("first_name", "last_name", "email")
        .only("first_name", "last_name", "email")
    )
    return [(person.pk, display_name(person)) for person in people]


def names_for(dimension: str, keys) -> dict:
    """Display names for a dimension's ids: one query for campaigns, reps or accounts; none for labels."""
    ids = [key for key in keys if key]
    if dimension == "campaign":
        return dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name"))
    if dimension == "rep":
        people = get_user_model().objects.filter(pk__in=ids).only("first_name", "last_name", "email")
        return {person.pk: display_name(person) for person in people}
    if dimension == "account":
        return dict(SendingAccount.objects.filter(pk__in=ids).values_list("pk", "name"))
    return {}


def dashboard_data(
    *,
    start: dt.date,
    end: dt.date,
    trend_days: int,
    campaign_id: int | None = None,
    rep_id: int | None = None,
    campaign_names: dict[int, str],
    rep_names: dict[int, str],
) -> dict:
    """Everything the dashboard shows in seven queries, whatever the data: counts, trend, backlog,
    accounts, and the pipeline's deals (reporting.pipeline: open by stage, the stages, closed in the period).

    Names of campaigns and reps come from the caller (the filter form already read them);
    account names come with the accounts' health.
    """
    counts = daily_counts(start=start, end=end, campaign_id=campaign_id, rep_id=rep_id)
    # Every account, for the names of those that counted (even outside the filter); the health
    # table shows the filter's own: one query either way.
    every = list(_accounts_marked(campaign_id=campaign_id, rep_id=rep_id))
    account_names = {account.pk: account.name for account in every}
    accounts = [account for account in every if account.in_filter]
    errors = counts.send_errors()
    names = {"campaign": campaign_names, "rep": rep_names, "account": account_names}
    series = trend(days=trend_days, end=end, campaign_id=campaign_id, rep_id=rep_id)
    conversions = {
        dimension: counts.conversions(dimension, names.get(dimension)) for dimension in CONVERSION_DIMENSIONS
    }
    return {
        "pipeline": pipeline(start=start, end=end, campaign_id=campaign_id, rep_id=rep_id),
        "conversion": counts.conversion_total(),
        "conversions": conversions,
        "funnel": counts.funnel(),
        "campaign_funnels": counts.funnel_by_campaign(campaign_names),
        "rates": {dimension: counts.rates(dimension, names.get(dimension)) for dimension in DIMENSIONS},
        "costs": counts.llm_cost_per(),
        "trend": series,
        "trend_chart": trend_chart_data(series),
        "backlog": backlog(campaign_id=campaign_id, rep_id=rep_id),
        "accounts": [
            {"account": account, **errors.get(account.pk, {"sent": 0, "errors": 0, "error_rate": None})}
            for account in accounts
        ],
    }


def llm_costs(*, campaign: Campaign | None = None) -> dict:
    """What the model calls cost, in total and per lead (a lead's qualification, drafts, replies).

    Reads LLMCall, not the daily counts: the campaign page's all-time figures for one campaign.
    """
    calls = LLMCall.objects.all() if campaign is None else LLMCall.objects.filter(campaign=campaign)
    totals = calls.aggregate(
        total=Sum("cost_usd"), calls=Count("pk"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out")
    )
    by_lead = list(
        calls.filter(lead__isnull=False)
        .values("lead")
        .annotate(cost=Sum("cost_usd"), calls=Count("pk"))
        .order_by("lead")
    )
    total = totals["total"] or Decimal(0)
    return {
        "total": total,
        "calls": totals["calls"],
        "tokens_in": totals["tokens_in"] or 0,
        "tokens_out": totals["tokens_out"] or 0,
        "by_lead": by_lead,
        "per_lead": (total / len(by_lead)).quantize(Decimal("0.000001")) if by_lead else Decimal(0),
    }
