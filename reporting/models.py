import datetime as dt

from django.conf import settings
from django.db import models

# The funnel, in order. Each stage counts people: a lead reaches a stage once (LeadMilestone).
# Its last stages come from deals: a deal opened books the meeting, a deal closed won wins the lead.
STAGES = ["found", "qualified", "drafted", "approved", "sent", "accepted", "replied", "positive", "meeting", "won"]
# Counted as events, not people: provider errors on sends, and model calls (with their cost).
EVENTS = ["send_error", "llm"]


class DailyCount(models.Model):
    """The dashboard's and the report's numbers, kept up to date as things happen.

    One row per day and combination of campaign, rep, account, label and message version;
    dimensions a stage does not have are 0 or "". Pages sum these rows: they never scan the
    activity log, whatever its size. `manage.py rebuild_metrics` recomputes them from it.
    """

    day = models.DateField()
    stage = models.CharField(max_length=20)
    campaign_id = models.IntegerField(default=0)
    rep_id = models.IntegerField(default=0)
    account_id = models.IntegerField(default=0)
    label = models.CharField(max_length=50, blank=True)
    version = models.CharField(max_length=100, blank=True, help_text="How the message was written")
    count = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "stage", "campaign_id", "rep_id", "account_id", "label", "version"],
                name="daily_count_unique",
            )
        ]
        indexes = [models.Index(fields=["day", "stage"]), models.Index(fields=["campaign_id", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.stage}: {self.count}"


class LeadMilestone(models.Model):
    """The first time a lead reached a funnel stage: counted once, however often it happens."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="milestones")
    stage = models.CharField(max_length=20)
    reached_at = models.DateTimeField()
    # The event that reached it: a rebuild reads its message's account and version through it.
    activity = models.ForeignKey(
        "leads.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "stage"], name="lead_milestone_once")]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.stage}"


class DailyReport(models.Model):
    """One report per recipient and date; the unique row makes the email go out once."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_reports")
    date = models.DateField()
    metrics = models.JSONField(default=dict)
    insights = models.JSONField(default=list, blank=True)
    insights_by = models.CharField(max_length=100, blank=True, help_text='"template" or the model name')
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure = models.CharField(max_length=300, blank=True)
    # When a run took it to send: a report "sending" long after died with its worker.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["recipient", "date"], name="daily_report_once")]

    def __str__(self) -> str:
        return f"Report for {self.recipient} on {self.date}"


def default_report_timezone() -> str:
    return settings.REPORT_DEFAULT_TIMEZONE


def default_report_time() -> dt.time:
    return dt.time.fromisoformat(settings.REPORT_DEFAULT_TIME)


class ReportRecipient(models.Model):
    """When a manager gets the daily report: a time in their own timezone."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_settings")
    enabled = models.BooleanField(default=True)
    timezone = models.CharField(max_length=50, default=default_report_timezone)
    send_at = models.TimeField(default=default_report_time)

    def __str__(self) -> str:
        return f"Daily report for {self.user} at {self.send_at} {self.timezone}"


class Alert(models.Model):
    """A condition managers must hear about: emailed once when it opens, shown while it lasts."""

    class Kind(models.TextChoices):
        ERROR_RATE = "error_rate", "Send errors above the threshold"
        ACCOUNT_PAUSED = "account_paused", "A sending account stopped"
        BACKLOG_AGE = "backlog_age", "Drafts waiting over a day"
        LLM_BUDGET = "llm_budget", "Language-model budget nearly spent"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=50, blank=True, help_text="Which one: an account id, or empty")
    message = models.CharField(max_length=300)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key"], condition=models.Q(resolved_at__isnull=True), name="alert_open_once"
            )
        ]

    def __str__(self) -> str:
        return self.message
