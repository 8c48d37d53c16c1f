"""The time the product acts at: every service, selector and task that decides by time asks here.

Production reads the system clock. A test that drives real worker processes through days of
sending points CLOCK_FILE at a file holding an ISO timestamp and moves it forward; the
workers read it on every call. Nothing else may set it. The test suite moves the whole
process's clock with time-machine (tests/conftest.py), which this module follows too.

Callers that decide by time take `now` / `today` as keyword arguments and fall back to these,
so a task asks the clock once and everything it calls agrees on the instant.
"""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def now() -> dt.datetime:
    if settings.CLOCK_FILE:
        try:
            return dt.datetime.fromisoformat(Path(settings.CLOCK_FILE).read_text().strip())
        except (FileNotFoundError, ValueError):
            pass
    return timezone.now()


def today(tz: dt.tzinfo | str | None = None) -> dt.date:
    """The date it is now in `tz` (a zone or its name; the project's TIME_ZONE by default)."""
    if isinstance(tz, str):
        tz = ZoneInfo(tz)
    return timezone.localdate(now(), tz)
