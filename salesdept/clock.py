"""The time the background jobs act at.

Production reads the system clock. A test that drives real worker processes through days of
sending points CLOCK_FILE at a file holding an ISO timestamp and moves it forward; the
workers read it on every call. Nothing else may set it.
"""

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def now() -> dt.datetime:
    if settings.CLOCK_FILE:
        try:
            return dt.datetime.fromisoformat(Path(settings.CLOCK_FILE).read_text().strip())
        except (FileNotFoundError, ValueError):
            pass
    return timezone.now()
