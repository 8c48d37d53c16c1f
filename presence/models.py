"""Our presence on LinkedIn: posts we suggest, approve, publish and read the results of.

A post is its own model rather than an OutreachMessage kind: it has no lead, no sequence step,
no contact budget and no reply thread, but it has an author (the company page or a rep), a
publish time and results (reactions, comments). Reusing OutreachMessage would make every one of
its lead-centred rules (budget, stop reasons, enrolments) special-case posts. The claim
discipline is the same: a conditional update to `sending` before the provider call.
"""

import uuid

from django.conf import settings
from django.db import models


class Post(models.Model):
    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Waiting for approval"
        APPROVED = "approved", "Approved: waiting for its time"
        SENDING = "sending", "Publishing"
        PUBLISHED = "published"
        REJECTED = "rejected"
        FAILED = "failed"
        UNKNOWN = "unknown", "Needs checking"

    class Author(models.TextChoices):
        COMPANY = "company", "Company page"
        REP = "rep", "A rep's own profile"

    author = models.CharField(max_length=10, choices=Author.choices)
    # The rep the post speaks for (a rep's post), or who looks after the company page's.
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    account = models.ForeignKey(
        "outreach.SendingAccount", on_delete=models.PROTECT, related_name="posts", help_text="Publishes the post"
    )
    as_organization = models.CharField(
        max_length=100, blank=True, help_text="The company page's LinkedIn id, for a company post"
    )
    text = models.TextField()
    original_text = models.TextField(blank=True, help_text="What was suggested, when a person edited it")
    content_item = models.ForeignKey(
        "library.ContentItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    link = models.URLField(max_length=500, blank=True, help_text="The library item's own URL, shown as a card")
    generated_by = models.CharField(max_length=100, blank=True, help_text="The model, or 'template' (offline)")
    llm_call = models.ForeignKey(
        "salesdept.LLMCall", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    guardrail_findings = models.JSONField(default=list, blank=True)
    # One suggestion per author, week and slot: a second run of the weekly job adds nothing.
    suggestion_key = models.CharField(max_length=100, unique=True)
    week = models.DateField(help_text="Monday of the week it was suggested for")
    publish_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_APPROVAL, db_index=True)
    revision = models.PositiveIntegerField(default=1)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Engagers become leads of this campaign.
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    attempts = models.PositiveIntegerField(default=0)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    provider_post_id = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)
    results_read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["publish_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_author_display()} post {self.pk} ({self.status})"


class Engagement(models.Model):
    """Someone reacted to or commented on one of our posts: read back from the provider."""

    class Kind(models.TextChoices):
        REACTION = "reaction"
        COMMENT = "comment"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="engagements")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    person_provider_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200, blank=True)
    headline = models.CharField(max_length=300, blank=True)
    profile_url = models.CharField(max_length=500, blank=True)
    value = models.TextField(blank=True, help_text="The reaction (LIKE...) or the comment's text")
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Why the person did not become a lead (no campaign, a company, already known...).
    outcome = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["post", "kind", "person_provider_id"], name="engagement_once_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.name or self.person_provider_id} on post {self.post_id}"


class PostingOptIn(models.Model):
    """A rep who wants weekly post suggestions for their own LinkedIn profile (set on /me/)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posting")
    suggest_posts = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} posts: {self.suggest_posts}"
