"""Limits that protect sending accounts: working windows, warm-up and daily caps in the database."""

import datetime as dt
import zoneinfo

from django.db import connection, transaction
from django.db.models import F, Sum

from campaigns.kinds import KINDS, kind_rules
from outreach.models import SendCounter, SendingAccount


def in_window(account: SendingAccount, now: dt.datetime) -> bool:
    local = now.astimezone(account.tz)
    return local.weekday() in account.working_days and account.work_start <= local.time() < account.work_end


def next_window_start(account: SendingAccount, now: dt.datetime) -> dt.datetime:
    """`now` when the window is open, else when it next opens (in UTC-aware form)."""
    local = now.astimezone(account.tz)
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        if day.weekday() not in account.working_days:
            continue
        start = dt.datetime.combine(day, account.work_start, tzinfo=account.tz)
        end = dt.datetime.combine(day, account.work_end, tzinfo=account.tz)
        if local < start:
            return start
        if local < end:
            return now
    return now + dt.timedelta(days=1)  # no working days at all: check again tomorrow


def daily_cap(account: SendingAccount, kind: str, day: dt.date) -> int:
    """The day's cap for a counter kind, after the warm-up ramp."""
    full = {
        SendCounter.Kind.INVITE: account.daily_invites,
        SendCounter.Kind.MESSAGE: account.daily_messages,
        SendCounter.Kind.INMAIL: account.daily_inmails,
        SendCounter.Kind.EMAIL: account.daily_emails,
        SendCounter.Kind.PROFILE_VIEW: account.daily_profile_views,
    }[kind]
    weeks = max(0, (day - account.activated_on).days // 7)
    return min(full, account.warmup_start + account.warmup_weekly_step * weeks)


def in_prospect_window(account: SendingAccount, lead_timezone: str, now: dt.datetime) -> bool:
    """With `prospect_hours` on, the account's hours and days also hold in the prospect's timezone."""
    if not account.prospect_hours or not lead_timezone:
        return True
    try:
        local = now.astimezone(zoneinfo.ZoneInfo(lead_timezone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return True  # an unknown zone name: the account's own window decides
    return local.weekday() in account.working_days and account.work_start <= local.time() < account.work_end


def _limit(account: SendingAccount, kind: str, day: dt.date) -> int:
    limit = daily_cap(account, kind, day)
    if kind == SendCounter.Kind.INVITE:
        week = (
            SendCounter.objects.filter(
                account=account, kind=kind, day__gt=day - dt.timedelta(days=7), day__lt=day
            ).aggregate(total=Sum("count"))["total"]
            or 0
        )
        limit = min(limit, account.weekly_invites - week)
    return limit


# Take a slot while the day is open and under its limit, creating the day's counter on its first
# send: one statement either way. The conflicting row is locked, so concurrent workers take turns.
_TAKE = """
    INSERT INTO outreach_sendcounter (account_id, kind, day, count, closed) VALUES (%s, %s, %s, 1, false)
    ON CONFLICT (account_id, kind, day) DO UPDATE SET count = outreach_sendcounter.count + 1
    WHERE outreach_sendcounter.count < %s AND NOT outreach_sendcounter.closed
    RETURNING id
"""


def cap_take(account: SendingAccount, message_kind: str, now: dt.datetime) -> bool:
    """Take one send slot for today, or False when the cap is reached. Safe across workers."""
    kind = kind_rules(message_kind).counter
    day = now.astimezone(account.tz).date()
    limit = _limit(account, kind, day)
    if limit <= 0:  # no slot at all today: the counter row tells open_message_kinds so
        SendCounter.objects.get_or_create(account=account, kind=kind, day=day)
        return False
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, [account.pk, kind, day, limit])
        return cursor.fetchone() is not None


def profile_view_take(account: SendingAccount, now: dt.datetime) -> bool:
    """Take one profile view for today (each lookup is a visit LinkedIn counts), or False past the limit."""
    kind = SendCounter.Kind.PROFILE_VIEW
    day = now.astimezone(account.tz).date()
    limit = daily_cap(account, kind, day)
    SendCounter.objects.get_or_create(account=account, kind=kind, day=day)
    return bool(
        SendCounter.objects.filter(account=account, kind=kind, day=day, count__lt=limit, closed=False).update(
            count=F("count") + 1
        )
    )


def profile_views_take_up_to(account: SendingAccount, now: dt.datetime, wanted: int) -> int:
    """Take as many of `wanted` profile views as today has left; how many were taken. Safe across workers:
    the day's counter row is locked while it is read and raised."""
    kind = SendCounter.Kind.PROFILE_VIEW
    day = now.astimezone(account.tz).date()
    limit = daily_cap(account, kind, day)
    SendCounter.objects.get_or_create(account=account, kind=kind, day=day)
    with transaction.atomic():
        counter = SendCounter.objects.select_for_update().get(account=account, kind=kind, day=day)
        taken = 0 if counter.closed else max(0, min(wanted, limit - counter.count))
        if taken:
            SendCounter.objects.filter(pk=counter.pk).update(count=F("count") + taken)
    return taken


def profile_views_refund(account: SendingAccount, now: dt.datetime, count: int) -> None:
    """Give back views taken and not used (never below zero)."""
    SendCounter.objects.filter(
        account=account, kind=SendCounter.Kind.PROFILE_VIEW, day=now.astimezone(account.tz).date(), count__gte=count
    ).update(count=F("count") - count)


def open_message_kinds(account: SendingAccount, now: dt.datetime) -> list[str]:
    """The message kinds the account may still send today (a hint: cap_take is the guard)."""
    day = now.astimezone(account.tz).date()
    counters = {c.kind: c for c in SendCounter.objects.filter(account=account, day=day)}
    open_kinds = set()
    for kind in SendCounter.Kind:
        counter = counters.get(kind)
        if counter is None or (not counter.closed and counter.count < _limit(account, kind, day)):
            open_kinds.add(kind)
    return [message_kind for message_kind, rules in KINDS.items() if rules.counter in open_kinds]


def kind_close(account: SendingAccount, message_kind: str, now: dt.datetime) -> bool:
    """The provider said stop: no more of this kind today. True when its previous sending day closed too."""
    kind = kind_rules(message_kind).counter
    day = now.astimezone(account.tz).date()
    SendCounter.objects.get_or_create(account=account, kind=kind, day=day)
    SendCounter.objects.filter(account=account, kind=kind, day=day).update(closed=True)
    previous = SendCounter.objects.filter(account=account, kind=kind, day__lt=day).order_by("-day").first()
    return bool(previous and previous.closed)


def cap_refund(account: SendingAccount, message_kind: str, now: dt.datetime) -> None:
    """Give a slot back when the provider proved nothing went out."""
    SendCounter.objects.filter(
        account=account, kind=kind_rules(message_kind).counter, day=now.astimezone(account.tz).date(), count__gt=0
    ).update(count=F("count") - 1)


def next_day_window(account: SendingAccount, now: dt.datetime) -> dt.datetime:
    """When the account's window opens on its next local day (after a cap or a rate limit)."""
    tomorrow = now.astimezone(account.tz).date() + dt.timedelta(days=1)
    return next_window_start(account, dt.datetime.combine(tomorrow, dt.time(0), tzinfo=account.tz))
