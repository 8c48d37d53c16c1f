from django.conf import settings
from django.db import models


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
    html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["recipient", "date"], name="daily_report_once")]

    def __str__(self) -> str:
        return f"Report for {self.recipient} on {self.date}"
