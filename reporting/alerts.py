"""Alerts: conditions managers must hear about, emailed once when they open, shown while they last.

`alerts_check` runs every five minutes. Each condition that holds has one open Alert (a partial
unique constraint on kind and key); the managers are notified, in the app and by email, only
when it opens. When the condition clears the alert is resolved; if it comes back, that is a new
alert and a new email.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, QuerySet, Sum
from django.urls import reverse

from approvals.selectors import drafts_waiting
from outreach.models import SendingAccount
from reporting.metrics import local_day
from reporting.models import Alert, DailyCount
from salesdept.notifications import notify
from salesdept.roles import managers
from salesdept.teamconfig import llm_config

Kind = Alert.Kind


def alerts_open() -> QuerySet[Alert]:
    """What is wrong now, newest first: the dashboard's banner."""
    return Alert.objects.filter(resolved_at__isnull=True).order_by("-opened_at")


@dataclass(frozen=True)
class Condition:
    kind: str
    key: str
    message: str


def _error_rate(now: dt.datetime) -> list[Condition]:
    """Send errors over today and yesterday, per account, past ALERT_ERROR_RATE of the attempts."""
    days = [local_day(now) - dt.timedelta(days=1), local_day(now)]
    rows = (
        DailyCount.objects.filter(day__in=days, stage__in=["sent", "send_error"])
        .values("account_id", "stage")
        .annotate(n=Sum("count"))
    )
    per_account: dict[int, dict[str, int]] = {}
    for row in rows:
        per_account.setdefault(row["account_id"], {})[row["stage"]] = row["n"]
    names = dict(SendingAccount.objects.filter(pk__in=per_account).values_list("pk", "name"))
    found = []
    for account_id, counts in sorted(per_account.items()):
        errors, attempts = counts.get("send_error", 0), counts.get("send_error", 0) + counts.get("sent", 0)
        if attempts >= settings.ALERT_MIN_ATTEMPTS and errors / attempts > settings.ALERT_ERROR_RATE:
            who = names.get(account_id, "an account")
            found.append(
                Condition(
                    Kind.ERROR_RATE,
                    str(account_id),
                    f"{who}: {errors} of {attempts} sends failed since yesterday ({errors / attempts:.0%}).",
                )
            )
    return found


def _paused_accounts() -> list[Condition]:
    stopped = SendingAccount.objects.filter(is_active=True).exclude(health=SendingAccount.Health.OK)
    return [
        Condition(
            Kind.ACCOUNT_PAUSED,
            str(account.pk),
            f"{account.name} stopped sending: {account.get_health_display().lower()}"
            + (f" ({account.health_reason})" if account.health_reason else "")
            + ".",
        )
        for account in stopped.order_by("pk")
    ]


def _old_drafts(now: dt.datetime) -> list[Condition]:
    waiting = (
        drafts_waiting()  # what the queue shows: a snoozed lead's draft is not late
        .filter(created_at__lte=now - dt.timedelta(hours=24))
        .aggregate(n=Count("pk"), oldest=Min("created_at"))
    )
    if not waiting["n"]:
        return []
    days = (now - waiting["oldest"]).days
    return [
        Condition(
            Kind.BACKLOG_AGE,
            "",
            f"{waiting['n']} draft{'s' if waiting['n'] != 1 else ''} waited over a day for approval "
            f"(the oldest {days} day{'s' if days != 1 else ''}).",
        )
    ]


def _llm_budget(now: dt.datetime) -> list[Condition]:
    from salesdept.llm.gateway import spent_today

    budget = llm_config().daily_budget_usd
    spent = float(spent_today(now))
    if budget and spent >= budget * settings.ALERT_LLM_BUDGET_SHARE:
        return [
            Condition(
                Kind.LLM_BUDGET,
                "",
                f"${spent:.2f} of today's ${budget:.2f} language-model budget is spent; "
                "past it, drafts fall back to the offline template.",
            )
        ]
    return []


def alerts_check(*, now: dt.datetime) -> list[Alert]:
    """Open what holds, resolve what cleared; returns the alerts opened by this run."""
    holding = [*_error_rate(now), *_paused_accounts(), *_old_drafts(now), *_llm_budget(now)]
    keys = {(condition.kind, condition.key) for condition in holding}
    for alert in alerts_open():
        if (alert.kind, alert.key) not in keys:
            Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(resolved_at=now)
    opened = []
    for condition in holding:
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    kind=condition.kind, key=condition.key, message=condition.message, opened_at=now
                )
        except IntegrityError:  # open already: keep its numbers current, tell nobody again
            Alert.objects.filter(kind=condition.kind, key=condition.key, resolved_at__isnull=True).update(
                message=condition.message
            )
            continue
        opened.append(alert)
    for alert in opened:
        with transaction.atomic():
            if not Alert.objects.filter(pk=alert.pk, emailed_at__isnull=True).update(emailed_at=now):
                continue
            for manager in managers():
                notify(user=manager, text=f"Alert: {alert.message}", url=reverse("reporting:dashboard"))
    return opened
