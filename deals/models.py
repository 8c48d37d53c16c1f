"""Deals: what an interested person becomes on the way to won or lost.

A deal belongs to one lead (at most one open at a time), moves through the team's stages
(`DealStage`, ordered, editable in admin) and closes at a stage whose outcome is won or lost.
Every move is a conditional UPDATE on the stage it was seen at (deals.services), so two reps
moving the same deal cannot both win, and each move is one timeline entry.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class DealStage(models.Model):
    class Outcome(models.TextChoices):
        OPEN = "open"
        WON = "won"
        LOST = "lost"

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Stages are shown in this order.")
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, default=Outcome.OPEN, help_text="A won or lost stage closes the deal."
    )
    probability = models.PositiveSmallIntegerField(default=0, help_text="Percent, for the weighted pipeline.")
    is_active = models.BooleanField(default=True, help_text="Inactive stages take no new deals.")

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.outcome != self.Outcome.OPEN


class Deal(models.Model):
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="deals")
    # The campaign that brought the person (the lead's home campaign when the deal opened): attribution.
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    stage = models.ForeignKey(DealStage, on_delete=models.PROTECT, related_name="deals")
    value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code, e.g. EUR")
    expected_close = models.DateField(null=True, blank=True)
    next_step = models.CharField(max_length=300, blank=True)
    lost_reason = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField()
    stage_changed_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=Q(closed_at__isnull=True), name="deal_one_open_per_lead"
            ),
        ]
        indexes = [models.Index(fields=["stage", "closed_at"]), models.Index(fields=["owner", "closed_at"])]

    def __str__(self) -> str:
        return f"Deal with {self.lead}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None
