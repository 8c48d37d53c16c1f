"""Competitor watch: who we watch on LinkedIn, what they posted, and the week's grounded summary.

What we read from LinkedIn about competitors costs the reading account a visit each time (a
page of posts, a page of reactions): ReadCounter holds the daily read budget across workers,
the same way outreach.SendCounter holds the profile views.
"""

from django.conf import settings
from django.db import models


class Competitor(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", "Company page"
        PERSON = "person", "Key person"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    # Unipile reads posts by LinkedIn's internal id: digits for a company, "ACo…" for a person.
    linkedin_id = models.CharField(
        max_length=100, help_text="LinkedIn's internal id: digits for a company page, ACo… for a person."
    )
    public_identifier = models.CharField(
        max_length=200, blank=True, help_text="The public name in their LinkedIn URL (linkedin.com/company/<this>)."
    )
    notes = models.TextField(blank=True, help_text="For the team only; never shown to prospects.")
    is_active = models.BooleanField(default=True, help_text="Inactive competitors are no longer read.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_read_at = models.DateTimeField(null=True, blank=True)
    read_error = models.CharField(max_length=300, blank=True, help_text="Why the last read failed, if it did.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "linkedin_id"], name="competitor_linkedin_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def linkedin_url(self) -> str:
        if not self.public_identifier:
            return ""
        section = "company" if self.kind == self.Kind.COMPANY else "in"
        return f"https://www.linkedin.com/{section}/{self.public_identifier}/"


class CompetitorPost(models.Model):
    """One of their posts, stored once however often it is read again (counters are refreshed)."""

    competitor = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="posts")
    provider_id = models.CharField(max_length=100)
    social_id = models.CharField(max_length=200, blank=True, help_text="The id Unipile reads reactions by.")
    url = models.URLField(max_length=500, blank=True)
    text = models.TextField(blank=True)
    posted_at = models.DateTimeField(db_index=True)
    reactions = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    read_at = models.DateTimeField()
    # When the people who reacted were read, and into which campaign: read once per post.
    engagers_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-posted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["competitor", "provider_id"], name="competitor_post_once"),
        ]

    def __str__(self) -> str:
        return f"{self.competitor}: {self.text[:60]}"


class CompetitorSummary(models.Model):
    """What a competitor pushed in one week: points that each cite the posts they come from."""

    competitor = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="summaries")
    week_start = models.DateField(help_text="The Monday of the week summarised")
    # [{"kind": "theme"|"launch"|"event", "text": str, "posts": [post pk, ...]}]
    points = models.JSONField(default=list, blank=True)
    # Sentences the model wrote that their cited posts do not support: kept apart, never shown as fact.
    flagged = models.JSONField(default=list, blank=True)
    written_by = models.CharField(max_length=100, blank=True, help_text='"template" or the model name')
    llm_call = models.ForeignKey(
        "salesdept.LLMCall", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-week_start", "competitor__name"]
        constraints = [models.UniqueConstraint(fields=["competitor", "week_start"], name="competitor_summary_week")]

    def __str__(self) -> str:
        return f"{self.competitor} week of {self.week_start}"


class ReadCounter(models.Model):
    """Competitor reads taken per reading account and local day: the budget holds across workers."""

    account = models.ForeignKey("outreach.SendingAccount", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="The account's local date")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="competitor_read_counter_unique")]

    def __str__(self) -> str:
        return f"{self.account} {self.day}: {self.count}"
