"""Alerts: conditions managers must hear about, emailed once when they open, shown while they last."""

from django.db.models import QuerySet

from reporting.models import Alert


def alerts_open() -> QuerySet[Alert]:
    """What is wrong now, newest first: the dashboard's banner."""
    return Alert.objects.filter(resolved_at__isnull=True).order_by("-opened_at")
