"""After the reply: what the prospect needs, in their own words, and the proposal that answers it.

A needs summary is a draft of the model's (or the offline template's) reading of the conversation:
every point quotes what the prospect wrote, and a point its quote does not support is flagged and
never reaches a proposal. A proposal is an offer's packages filled from the checked points; once it
goes to the approval queue its text and PDF are frozen, and once sent a change is a new version.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

# The needs a summary reads, in the order a page and the PDF show them.
NEED_FIELDS = (
    ("pains", "Pains"),
    ("requirements", "Requirements"),
    ("budget", "Budget"),
    ("timeline", "Timeline"),
    ("decision_makers", "Decision makers"),
)
NOT_SAID = "not said"


class Offer(models.Model):
    """What we sell, as a proposal may show it: packages with prices, a timeline and terms."""

    name = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="What the offer is, as a prospect may read it")
    timeline = models.TextField(help_text="How delivery goes, e.g. “Kick-off in week 1, live by week 6”")
    terms = models.TextField(blank=True, help_text="Payment and validity terms printed under the prices")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Package(models.Model):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="packages")
    name = models.CharField(max_length=200)
    included = models.TextField(help_text="What is included, one item per line")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="GBP", help_text="ISO code, e.g. GBP, EUR, USD")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.price} {self.currency})"


class NeedsSummary(models.Model):
    """One reading of a lead's conversation. `points` are
    [{"field", "text", "quote", "reply" (InboundMessage id or None), "by" ("model", "template", "rep"), "flag"}];
    a point with a `flag` is not in what the prospect wrote and is held back from proposals."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="needs_summaries")
    points = models.JSONField(default=list)
    generated_by = models.CharField(max_length=100, help_text='"template" or the model name')
    llm_call = models.ForeignKey("salesdept.LLMCall", null=True, blank=True, on_delete=models.SET_NULL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "needs summaries"

    def __str__(self) -> str:
        return f"Needs of {self.lead_id} ({self.created_at:%Y-%m-%d})"

    def get_absolute_url(self) -> str:
        return reverse("proposals:needs", args=[self.pk])

    @property
    def checked_points(self) -> list[dict]:
        return [point for point in self.points if not point.get("flag")]

    @property
    def flagged_points(self) -> list[dict]:
        return [point for point in self.points if point.get("flag")]

    def by_field(self) -> list[tuple[str, str, list[dict]]]:
        """(field, label, its points) for every field, flagged points included: the page shows both."""
        return [(field, label, [p for p in self.points if p["field"] == field]) for field, label in NEED_FIELDS]


class Proposal(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        QUEUED = "queued", "In the approval queue"
        SENT = "sent"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="proposals")
    needs = models.ForeignKey(NeedsSummary, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="proposals")
    version = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)

    # What the document says: the rep edits these before it goes.
    title = models.CharField(max_length=200)
    prospect_name = models.CharField(max_length=200)
    company_name = models.CharField(max_length=200, blank=True)
    intro = models.TextField()
    timeline = models.TextField()
    terms = models.TextField(blank=True)
    closing = models.TextField(blank=True)
    # Snapshots taken at creation: the checked needs ([{"field", "text", "quote"}]) and the offer's
    # packages ([{"name", "included", "price", "currency"}]), so a later edit of either changes no proposal.
    needs_points = models.JSONField(default=list)
    packages = models.JSONField(default=list)

    # The message that carries its link, through the approval queue and the normal send.
    message = models.OneToOneField(
        "outreach.OutreachMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposal"
    )
    link_key = models.CharField(max_length=64, blank=True, editable=False)
    link_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    pdf = models.BinaryField(null=True, blank=True, editable=False, help_text="The PDF as queued: what the link serves")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["lead", "version"], name="proposal_version_unique")]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"

    def get_absolute_url(self) -> str:
        return reverse("proposals:edit", args=[self.pk])

    @property
    def editable(self) -> bool:
        return self.status == self.Status.DRAFT
