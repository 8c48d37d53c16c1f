"""The daily read budget of a reading account: one conditional UPDATE per read, safe across workers."""

import datetime as dt

from django.conf import settings
from django.db.models import F

from competitors.models import ReadCounter
from outreach.models import SendingAccount


def read_take(account: SendingAccount, now: dt.datetime) -> bool:
    """Take one read for the account's local day, or False when COMPETITOR_DAILY_READS are spent."""
    day = now.astimezone(account.tz).date()
    ReadCounter.objects.get_or_create(account=account, day=day)
    return bool(
        ReadCounter.objects.filter(account=account, day=day, count__lt=settings.COMPETITOR_DAILY_READS).update(
            count=F("count") + 1
        )
    )


def reads_left(account: SendingAccount, now: dt.datetime) -> int:
    day = now.astimezone(account.tz).date()
    used = ReadCounter.objects.filter(account=account, day=day).values_list("count", flat=True).first() or 0
    return max(0, settings.COMPETITOR_DAILY_READS - used)
