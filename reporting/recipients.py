"""When a manager gets the daily report: their own time and timezone (ReportRecipient), set on /me/.

reports_send_due sends a report once its recipient's local time has passed their send time.
"""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import transaction

from reporting.models import ReportRecipient


def report_recipient_set(*, user, timezone: str, send_at: dt.time, enabled: bool) -> ReportRecipient:
    """Store a manager's report time; `timezone` must be an IANA name (the form checked it)."""
    zoneinfo.ZoneInfo(timezone)  # fail loudly rather than store a zone the sender cannot read
    with transaction.atomic():
        recipient, _ = ReportRecipient.objects.update_or_create(
            user=user,
            defaults={"timezone": timezone, "send_at": send_at.replace(second=0, microsecond=0), "enabled": enabled},
        )
    return recipient


def report_settings_of(user) -> ReportRecipient:
    """The manager's settings, or the defaults they would get (unsaved) when they never set any."""
    return ReportRecipient.objects.filter(user=user).first() or ReportRecipient(
        user=user,
        timezone=settings.REPORT_DEFAULT_TIMEZONE,
        send_at=dt.time.fromisoformat(settings.REPORT_DEFAULT_TIME),
    )


def report_next_at(recipient: ReportRecipient, *, now: dt.datetime) -> dt.datetime | None:
    """When the next report goes, in the recipient's zone: today at their time if still ahead, else tomorrow.

    Wall-clock arithmetic in the zone, so a DST change keeps the local time (09:15 stays 09:15).
    """
    if not recipient.enabled:
        return None
    try:
        zone = zoneinfo.ZoneInfo(recipient.timezone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):  # typed in admin; the sender uses the default too
        zone = zoneinfo.ZoneInfo(settings.REPORT_DEFAULT_TIMEZONE)
    local = now.astimezone(zone)
    day = local.date() if local.time() < recipient.send_at else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, recipient.send_at, tzinfo=zone)
