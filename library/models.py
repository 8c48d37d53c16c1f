"""The content library: what we publish and may share (articles, case studies, event pages).

Posts, counter-moves and nurturing touches cite it: a claim about us that is not in an item's
summary or facts is not ours to make.
"""

from django.conf import settings
from django.db import models


class ContentItem(models.Model):
    class Kind(models.TextChoices):
        ARTICLE = "article"
        CASE_STUDY = "case_study", "Case study"
        EVENT = "event", "Event page"
        PRODUCT = "product", "Product page"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ARTICLE)
    title = models.CharField(max_length=200)
    url = models.URLField(max_length=500)
    summary = models.TextField(help_text="What it says, in a few sentences: drafts may quote it.")
    facts = models.JSONField(
        default=list, blank=True, help_text='Claims about us it supports, one per entry, e.g. ["Used by 40 banks"].'
    )
    labels = models.JSONField(default=list, blank=True, help_text="Lead labels it suits; empty: any.")
    industries = models.JSONField(default=list, blank=True, help_text="Industries it suits; empty: any.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Nurture(models.Model):
    """One nurturing touch suggested to a connected, met or won person: why, and the message it drafted.

    The message is an ordinary OutreachMessage outside the sequence (step 0), so it waits in the
    approval queue and goes through the normal send. An item is shared with a person once, whatever
    became of the suggestion (rejected included), and a person gets at most one suggestion a week.
    """

    class Reason(models.TextChoices):
        SHARE = "share", "Sharing a library item"
        CONGRATULATE = "congratulate", "Congratulating on a new role"
        CHECK_IN = "check_in", "Checking in after the meeting"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="nurtures")
    message = models.OneToOneField("outreach.OutreachMessage", on_delete=models.CASCADE, related_name="nurture")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    # Retired items stay (never suggested again); deleting one that was shared is refused.
    item = models.ForeignKey(ContentItem, null=True, blank=True, on_delete=models.PROTECT, related_name="nurtures")
    news = models.JSONField(default=dict, blank=True, help_text="The profile news congratulated on, as read")
    week = models.DateField(help_text="Monday (UTC) of the week whose run suggested it")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Two workers running the same week's job: one row per person, the other insert fails.
            models.UniqueConstraint(fields=["lead", "week"], name="nurture_one_per_week"),
            models.UniqueConstraint(
                fields=["lead", "item"], condition=models.Q(item__isnull=False), name="nurture_item_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} for {self.lead_id} ({self.week})"

    @property
    def label(self) -> str:
        """What the queue calls it: "Nurturing: sharing <item>"."""
        if self.reason == self.Reason.SHARE and self.item is not None:
            return f"Nurturing: sharing “{self.item.title}”"
        if self.reason == self.Reason.CONGRATULATE:
            return "Nurturing: congratulating on a new role"
        return "Nurturing: checking in after the meeting"
