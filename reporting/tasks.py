from celery import shared_task

from reporting.alerts import alerts_check
from reporting.reports import reports_send_due
from salesdept import clock


@shared_task
def reports_send_due_task() -> int:
    """Every 15 minutes: managers whose report time has come get yesterday's report, once."""
    return reports_send_due(now=clock.now())


@shared_task
def alerts_check_task() -> int:
    """The health check: error rates, stopped accounts, old drafts, the model budget."""
    return len(alerts_check(now=clock.now()))
