"""The daily report: a day's numbers, grounded insights, an email sent once, and its archive.

Numbers come from the daily counts (reporting.DailyCount), never from the activity log, so a
report builds in milliseconds whatever the history's size. Days are the counts' days, in
TIME_ZONE. Each manager gets one report per date (a unique row); a conditional UPDATE claims
the row before the email goes, so a second run, or a second worker, sends nothing.
"""

import datetime as dt
import logging
import smtplib
import zoneinfo
from collections import Counter, defaultdict
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from approvals.selectors import drafts_waiting
from campaigns.models import Campaign
from competitors.reporting import report_section as competitors_report_section
from outreach.models import SendingAccount
from reporting.models import STAGES, DailyCount, DailyReport
from reporting.pipeline import money_text, pipeline
from reporting.selectors import STAGE_LABELS, conversion, rate
from salesdept import clock
from salesdept.llm import report_insights
from salesdept.llm import template as template_backend
from salesdept.llm.grounding import ungrounded_numbers
from salesdept.roles import ADMIN, MANAGER, is_manager, user_roles

logger = logging.getLogger(__name__)

COMPARISON_DAYS = 7
# Campaign rows the email shows (most sends first); more make it long, and Gmail clips mail over 102 KB.
EMAIL_CAMPAIGNS = 20
RATES = [("reply_rate", "Reply rate", "replied"), ("acceptance_rate", "Acceptance", "accepted")]
RATES += [("positive_rate", "Positive replies", "positive")]


# -- The numbers ---------------------------------------------------------------------------------


def _rates(funnel: dict) -> dict:
    return {key: rate(funnel.get(stage, 0), funnel.get("sent", 0)) for key, _, stage in RATES}


def _usd(amount: Decimal) -> float:
    return float(amount.quantize(Decimal("0.01")))


def report_metrics(*, day: dt.date, now: dt.datetime | None = None) -> dict:
    """One day's numbers beside the previous 7 days', the live backlog and account health.

    Plain JSON: counts are ints, rates percentages with one decimal (None without sends), costs
    USD with two, deal values per currency with two. Seven queries, whatever the history's size:
    four for the counts, the backlog and the accounts, three for the pipeline's deals.
    """
    now = now or clock.now()
    first = day - dt.timedelta(days=COMPARISON_DAYS)
    rows = (
        DailyCount.objects.filter(day__gte=first, day__lte=day)
        .values("day", "stage", "campaign_id")
        .annotate(n=Sum("count"), cost=Sum("cost_usd"))
        .order_by()
    )
    today, before = Counter(), Counter()
    cost_today, cost_before = Decimal(0), Decimal(0)
    per_campaign: dict[int, Counter] = defaultdict(Counter)
    for row in rows:
        if row["day"] == day:
            today[row["stage"]] += row["n"]
            cost_today += row["cost"] or 0
            if row["campaign_id"] and row["stage"] in STAGES:
                per_campaign[row["campaign_id"]][row["stage"]] += row["n"]
        else:
            before[row["stage"]] += row["n"]
            cost_before += row["cost"] or 0

    funnel = {stage: today[stage] for stage in STAGES}
    funnel_before = {stage: before[stage] for stage in STAGES}
    return {
        "date": day.isoformat(),
        "comparison_days": COMPARISON_DAYS,
        "previous": {"from": first.isoformat(), "to": (day - dt.timedelta(days=1)).isoformat()},
        "funnel": funnel,
        "funnel_previous_7_days": funnel_before,
        "daily_average_previous_7_days": {s: round(funnel_before[s] / COMPARISON_DAYS, 1) for s in STAGES},
        "change_vs_average_pct": {s: _change(funnel[s], funnel_before[s] / COMPARISON_DAYS) for s in STAGES},
        "rates": _rates(funnel),
        "rates_previous_7_days": _rates(funnel_before),
        "campaigns": _campaigns(per_campaign),
        "send_errors": {"day": today["send_error"], "previous_7_days": before["send_error"]},
        "llm": {
            "calls": today["llm"],
            "cost_usd": _usd(cost_today),
            "calls_previous_7_days": before["llm"],
            "cost_usd_previous_7_days": _usd(cost_before),
        },
        "backlog": _backlog(now),
        "accounts": _accounts(),
        "pipeline": _pipeline(day, funnel),
    }


def _amounts(values: dict) -> dict:
    return {currency: float(amount) for currency, amount in values.items()}


def _pipeline(day: dt.date, funnel: dict) -> dict:
    """Deals open now by stage, deals won and lost on the day, and the day's reply → meeting → won."""
    numbers = pipeline(start=day, end=day)
    opened = numbers["open"]
    closed = {
        outcome: {
            "deals": numbers[outcome]["deals"],
            "value": _amounts(numbers[outcome]["value"]),
            "avg_days_to_close": numbers[outcome]["avg_days"],
        }
        for outcome in ("won", "lost")
    }
    closed["lost"] |= {"reasons": numbers["lost"]["reasons"], "other_reasons": numbers["lost"]["other_reasons"]}
    return {
        "open": {
            "deals": opened["total"]["deals"],
            "value": _amounts(opened["total"]["value"]),
            "weighted": _amounts(opened["total"]["weighted"]),
            "stages": [
                {
                    "name": stage["name"],
                    "probability": stage["probability"],
                    "deals": stage["deals"],
                    "value": _amounts(stage["value"]),
                    "weighted": _amounts(stage["weighted"]),
                }
                for stage in opened["stages"]
            ],
        },
        **closed,
        "conversion": conversion(funnel),
    }


def _change(today: int, average: float) -> float | None:
    return round(100 * (today - average) / average, 1) if average else None


def _campaigns(per_campaign: dict[int, Counter]) -> list[dict]:
    names = dict(Campaign.objects.filter(pk__in=list(per_campaign)).values_list("pk", "name"))
    rows = []
    for pk, counts in per_campaign.items():
        funnel = {stage: counts[stage] for stage in STAGES}
        rows.append({"id": pk, "name": names.get(pk, f"Campaign #{pk}"), "funnel": funnel, "rates": _rates(funnel)})
    return sorted(rows, key=lambda row: (-row["funnel"]["sent"], row["name"].lower(), row["id"]))


def _backlog(now: dt.datetime) -> dict:
    waiting = drafts_waiting().aggregate(n=Count("pk"), oldest=Min("created_at"))  # what the queue shows
    oldest = waiting["oldest"]
    hours = round(max((now - oldest).total_seconds(), 0) / 3600, 1) if oldest else None
    return {"pending": waiting["n"], "oldest_hours": hours}


def _accounts() -> dict:
    accounts = list(
        SendingAccount.objects.filter(is_active=True).order_by("name").values_list("name", "health", "health_reason")
    )
    trouble = [
        {"name": name, "health": health, "reason": reason}
        for name, health, reason in accounts
        if health != SendingAccount.Health.OK
    ]
    return {"total": len(accounts), "ok": len(accounts) - len(trouble), "attention_count": len(trouble)} | {
        "attention": trouble
    }


# -- Insights --------------------------------------------------------------------------------------


def report_insights_grounded(*, metrics: dict) -> tuple[list[str], str, int]:
    """(insights, who wrote them, how many the model wrote that were dropped).

    A model insight quoting a number the metrics do not hold is dropped; fewer than 3 left are
    topped up with the template's, which quote only the metrics.
    """
    result = report_insights(metrics=metrics)
    written = [" ".join(text.split()) for text in result.value.insights]
    kept = [text for text in written if not ungrounded_numbers(text, metrics)]
    dropped = len(written) - len(kept)
    by = result.generated_by if kept else template_backend.NAME
    if len(kept) < 3:
        extra = [text for text in template_backend.insights(metrics=metrics).insights if text not in kept]
        if kept and not result.from_template:
            by = f"{by} + {template_backend.NAME}"
        kept += extra[: 3 - len(kept)]
    return kept[:5], by[:100], dropped


# -- Building and sending -------------------------------------------------------------------------


def report_build(*, recipient, day: dt.date, now: dt.datetime | None = None) -> DailyReport:
    """The recipient's report of `day`, built and stored once (the unique row); an existing one is kept."""
    existing = DailyReport.objects.filter(recipient=recipient, date=day).first()
    if existing is not None:
        return existing
    metrics = report_metrics(day=day, now=now)
    insights, by, dropped = report_insights_grounded(metrics=metrics)
    metrics["insights_dropped"] = dropped
    if competitors := competitors_report_section(day=day):  # after the insights: not numbers to ground
        metrics["competitors"] = competitors  # weekly: only the week's last day has a section
    with transaction.atomic():
        report, created = DailyReport.objects.get_or_create(
            recipient=recipient,
            date=day,
            defaults={"metrics": metrics, "insights": insights, "insights_by": by},
        )
        if created:
            context = report_context(report)
            report.html = render_to_string("reporting/report_email.html", context)
            report.text = render_to_string("reporting/report_email.txt", context)
            report.save(update_fields=["html", "text"])
    return report


def report_subject(report: DailyReport) -> str:
    return f"Sales report for {report.date.isoformat()}"


STUCK_AFTER = dt.timedelta(minutes=15)  # far past the email timeout: the sending worker is gone


def report_send(*, report_id: int, force: bool = False, actor=None) -> bool:
    """Email the report once: True when this call sent it.

    A conditional UPDATE claims the row (pending or failed -> sending), so a second run finds
    nothing to claim. An SMTP error marks it failed, for the next run to retry. `force` is a
    manager's "Send again": a sent report goes out once more, and the resend is logged. A report
    left "sending" by a worker that died is never sent again by the schedule (it may have gone
    out); after STUCK_AFTER, "Send again" lets a manager decide.
    """
    now = clock.now()
    claimable = Q(status__in=[DailyReport.Status.PENDING, DailyReport.Status.FAILED])
    if force:
        claimable |= Q(status=DailyReport.Status.SENT) | Q(
            status=DailyReport.Status.SENDING, claimed_at__lt=now - STUCK_AFTER
        )
    if not DailyReport.objects.filter(claimable, pk=report_id).update(
        status=DailyReport.Status.SENDING, failure="", claimed_at=now
    ):
        return False
    report = DailyReport.objects.select_related("recipient").get(pk=report_id)
    try:
        _email(report).send()
    except Exception as exc:
        DailyReport.objects.filter(pk=report_id, status=DailyReport.Status.SENDING).update(
            status=DailyReport.Status.FAILED, failure=f"{type(exc).__name__}: {exc}"[:300]
        )
        if not isinstance(exc, smtplib.SMTPException | OSError | ValueError):
            raise
        logger.warning("Daily report %s was not sent: %s", report_id, exc)
        return False
    DailyReport.objects.filter(pk=report_id).update(status=DailyReport.Status.SENT, sent_at=clock.now())
    if force:
        from leads.services import activity_record  # the audit log lives with the timeline

        activity_record(verb="report.resent", actor=actor, report_id=report_id, date=report.date.isoformat())
    return True


def _email(report: DailyReport) -> EmailMultiAlternatives:
    if not report.recipient.email:
        raise ValueError("the recipient has no email address")
    email = EmailMultiAlternatives(
        report_subject(report),
        report.text,
        settings.DEFAULT_FROM_EMAIL,
        [report.recipient.email],
        headers={"Auto-Submitted": "auto-generated"},
        connection=get_connection(timeout=settings.REPORT_EMAIL_TIMEOUT_SECONDS),
    )
    email.attach_alternative(report.html, "text/html")
    return email


def _recipients() -> list[tuple[object, zoneinfo.ZoneInfo, dt.time]]:
    """Active managers and admins with an address, with their timezone and send time."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .filter(Q(groups__name__in=[MANAGER, ADMIN]) | Q(is_superuser=True))
        .distinct()
        .select_related("report_settings")
        .order_by("pk")
    )
    default_zone = zoneinfo.ZoneInfo(settings.REPORT_DEFAULT_TIMEZONE)
    default_time = dt.time.fromisoformat(settings.REPORT_DEFAULT_TIME)
    due = []
    for user in users:
        own = getattr(user, "report_settings", None)
        if own is None:
            due.append((user, default_zone, default_time))
        elif own.enabled:
            try:
                zone = zoneinfo.ZoneInfo(own.timezone)
            except (ValueError, zoneinfo.ZoneInfoNotFoundError):
                logger.warning("Report recipient %s has an unknown timezone %r", user.pk, own.timezone)
                zone = default_zone
            due.append((user, zone, own.send_at))
    return due


def report_day_for(*, now: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    """The day a recipient's report covers: their yesterday, and never a day the counts have not finished.

    Ahead of TIME_ZONE (Auckland with a UTC server), "yesterday" there is still today here.
    """
    local_yesterday = now.astimezone(zone).date() - dt.timedelta(days=1)
    return min(local_yesterday, timezone.localdate(now) - dt.timedelta(days=1))


def reports_send_due(*, now: dt.datetime) -> int:
    """Build and send every report whose time has come in its recipient's timezone; how many were sent.

    Run every 15 minutes. A recipient is due once their local time has passed their send time
    and their report of the day is not sent yet (a failed one is retried).
    """
    sent = 0
    for user, zone, at in _recipients():
        if now.astimezone(zone).time() < at:
            continue
        day = report_day_for(now=now, zone=zone)
        try:
            report = report_build(recipient=user, day=day, now=now)
            retry = report.status in (DailyReport.Status.PENDING, DailyReport.Status.FAILED)
            sent += bool(retry and report_send(report_id=report.pk))
        except Exception:
            logger.exception("Daily report of %s for %s failed", user.pk, day)  # the others still go
    return sent


# -- The email's and the archive's view of a report -------------------------------------------------


def _n(value) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+,.1f}%"


def report_context(report: DailyReport) -> dict:
    """Everything the email's two parts show, formatted once so HTML and text say the same."""
    m = report.metrics
    top = max([m["funnel"][stage] for stage in STAGES] + [1])
    funnel = [
        {
            "label": STAGE_LABELS[stage],
            "count": _n(m["funnel"][stage]),
            "average": _n(m["daily_average_previous_7_days"][stage]),
            "change": _signed(m["change_vs_average_pct"][stage]),
            "width": round(100 * m["funnel"][stage] / top),
            "bar": "#" * round(20 * m["funnel"][stage] / top),
        }
        for stage in STAGES
    ]
    rates = [
        {"label": label, "day": _p(m["rates"][key]), "before": _p(m["rates_previous_7_days"][key])}
        for key, label, _ in RATES
    ]
    campaigns = [
        {
            "name": row["name"],
            "sent": _n(row["funnel"]["sent"]),
            "replied": _n(row["funnel"]["replied"]),
            "reply_rate": _p(row["rates"]["reply_rate"]),
            "positive": _n(row["funnel"]["positive"]),
            "meeting": _n(row["funnel"]["meeting"]),
        }
        for row in m["campaigns"][:EMAIL_CAMPAIGNS]
    ]
    backlog, llm, accounts = m["backlog"], m["llm"], m["accounts"]
    pipeline_shown = _pipeline_context(m["pipeline"]) if "pipeline" in m else None
    return {
        "report": report,
        "subject": report_subject(report),
        "date": report.date.isoformat(),
        "previous": m["previous"],
        "funnel": funnel,
        "rates": rates,
        "campaigns": campaigns,
        "more_campaigns": max(len(m["campaigns"]) - EMAIL_CAMPAIGNS, 0),
        "pending": _n(backlog["pending"]),
        "oldest_hours": _n(backlog["oldest_hours"]) if backlog["oldest_hours"] is not None else "",
        "send_errors": _n(m["send_errors"]["day"]),
        "send_errors_before": _n(m["send_errors"]["previous_7_days"]),
        "llm_calls": _n(llm["calls"]),
        "llm_cost": f"${llm['cost_usd']:,.2f}",
        "llm_calls_before": _n(llm["calls_previous_7_days"]),
        "llm_cost_before": f"${llm['cost_usd_previous_7_days']:,.2f}",
        "accounts_ok": _n(accounts["ok"]),
        "accounts_total": _n(accounts["total"]),
        "accounts_attention": accounts["attention"],
        "insights": report.insights,
        "insights_by": report.insights_by,
        "from_template": report.insights_by == template_backend.NAME,
        "insights_dropped": m.get("insights_dropped", 0),
        "competitors": m.get("competitors", []),
        "pipeline": pipeline_shown,
        "dashboard_url": settings.SITE_URL.rstrip("/") + reverse("reporting:dashboard"),
        "report_url": settings.SITE_URL.rstrip("/") + reverse("reports:detail", args=[report.pk]),
    }


def _pipeline_context(p: dict) -> dict:
    def closed(outcome: str) -> dict:
        days = p[outcome]["avg_days_to_close"]
        return {
            "deals": _n(p[outcome]["deals"]),
            "value": money_text(p[outcome]["value"]),
            "avg_days": "–" if days is None else f"{days:,.1f}",
        }

    c = p["conversion"]
    return {
        "stages": [
            {
                "name": stage["name"],
                "probability": f"{stage['probability']}%",
                "deals": _n(stage["deals"]),
                "value": money_text(stage["value"]),
                "weighted": money_text(stage["weighted"]),
            }
            for stage in p["open"]["stages"]
        ],
        "open_deals": _n(p["open"]["deals"]),
        "open_value": money_text(p["open"]["value"]),
        "open_weighted": money_text(p["open"]["weighted"]),
        "won": closed("won"),
        "lost": closed("lost"),
        "reasons": [{"reason": row["reason"], "deals": _n(row["deals"])} for row in p["lost"]["reasons"]],
        "other_reasons": _n(p["lost"]["other_reasons"]) if p["lost"]["other_reasons"] else "",
        "replied": _n(c["replied"]),
        "meetings": _n(c["meeting"]),
        "wins": _n(c["won"]),
        "meeting_rate": _p(c["meeting_rate"]),
        "won_rate": _p(c["won_rate"]),
        "reply_to_won": _p(c["reply_to_won"]),
    }


# -- Reads for the archive -------------------------------------------------------------------------


def reports_visible_to(user) -> QuerySet[DailyReport]:
    """Newest first: a manager's own reports; an admin's, everyone's."""
    if not is_manager(user):
        raise PermissionDenied("Reports are for managers.")
    reports = DailyReport.objects.select_related("recipient").defer("html", "text", "metrics")
    if ADMIN not in user_roles(user):
        reports = reports.filter(recipient=user)
    return reports.order_by("-date", "-pk")


def report_get_for_user(user, pk: int) -> DailyReport:
    report = reports_visible_to(user).defer(None).filter(pk=pk).first()
    if report is None:
        raise Http404("No such report.")
    return report
