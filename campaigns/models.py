from django.conf import settings
from django.db import models

from campaigns.labels import label_names


def default_labels() -> list[dict]:
    # The description steers qualification (internal); the angle is what a message to that
    # kind of prospect leads with, so it is written to be read by them.
    return [
        {
            "name": "Speaker",
            "description": "Could speak at our event",
            "angle": "a place on our stage, in front of an audience that wants to hear from people doing the work",
        },
        {
            "name": "Sponsor",
            "description": "Could sponsor our event",
            "angle": "reaching the people who attend, and meeting them in person",
        },
        {"name": "Other", "description": "Fits the profile, no clear role yet"},
    ]


class TargetProfile(models.Model):
    """The ideal customer profile a campaign searches and scores against."""

    name = models.CharField(max_length=200)
    titles = models.JSONField(default=list, blank=True, help_text='e.g. ["CFO", "Head of Finance"]')
    seniorities = models.JSONField(default=list, blank=True, help_text='e.g. ["c_suite", "vp", "director"]')
    industries = models.JSONField(default=list, blank=True)
    locations = models.JSONField(default=list, blank=True)
    company_sizes = models.JSONField(default=list, blank=True, help_text='Ranges like "51-200", "201-1000"')
    keywords = models.JSONField(default=list, blank=True)
    exclusions = models.JSONField(default=list, blank=True, help_text="Words that disqualify a title or company")
    linkedin_api = models.CharField(
        max_length=20,
        choices=[("classic", "LinkedIn (classic)"), ("sales_navigator", "Sales Navigator")],
        default="classic",
        help_text="Which LinkedIn people search the unipile source uses",
    )
    linkedin_search_url = models.URLField(
        max_length=2000, blank=True, help_text="A LinkedIn search pasted from the browser; replaces the filters"
    )

    def __str__(self) -> str:
        return self.name


# The languages a campaign can write in: those the guardrails can recognise (outreach.guardrails).
LANGUAGES = [
    ("en", "English"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("nl", "Dutch"),
]


# The brief's fields a prospect may read: prompts, the template and the campaign's forms draw
# on these; everything else on a campaign (name, targeting, notes) is internal.
PROSPECT_FACING_FIELDS = ("offer", "event", "value_points", "proof", "call_to_action", "faq", "tone", "brief_links")


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        PAUSED = "paused"
        FINISHED = "finished"

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_campaigns")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    target = models.ForeignKey(TargetProfile, on_delete=models.PROTECT, related_name="campaigns")
    labels = models.JSONField(default=default_labels, blank=True)
    min_score = models.PositiveSmallIntegerField(default=40)
    daily_lead_quota = models.PositiveIntegerField(default=25)
    lead_goal = models.PositiveIntegerField(
        null=True, blank=True, help_text="Stop searching once the campaign has this many leads; blank: no limit"
    )
    sending_accounts = models.ManyToManyField("outreach.SendingAccount", blank=True, related_name="campaigns")
    lead_sources = models.JSONField(default=list, blank=True, help_text='e.g. ["sandbox"]')
    search_cursors = models.JSONField(default=dict, blank=True, help_text="Where each source's search resumes")
    language = models.CharField(
        max_length=2,
        choices=LANGUAGES,
        default="en",
        help_text="What its messages are written in: a draft in another language is held back",
    )

    # The brief. Everything from `offer` to `brief_links` is written to be read by prospects and
    # is all a message may draw on; `name`, the target profile, the request a campaign came from
    # and `internal_notes` are for the team and never enter a message (outreach.guardrails checks).
    offer = models.TextField(blank=True, help_text="What we offer, as a prospect may read it")
    event = models.CharField(max_length=200, blank=True, help_text="The event's public name, if there is one")
    value_points = models.JSONField(default=list, blank=True, help_text="What is in it for the prospect, one per line")
    proof = models.TextField(blank=True, help_text="Facts a prospect may be told: past attendees, results, names")
    call_to_action = models.CharField(max_length=300, blank=True)
    faq = models.JSONField(
        default=list, blank=True, help_text='Answers to common questions: [{"question": ..., "answer": ...}]'
    )
    tone = models.CharField(max_length=100, default="warm, concise, professional")
    brief_links = models.JSONField(default=list, blank=True, help_text="The only links a draft may contain")
    internal_notes = models.TextField(blank=True, help_text="For the team only: never shown to a prospect")

    # The campaign's voice: instructions to the writer, never content a message draws on.
    brand_voice = models.TextField(
        blank=True, help_text="How this campaign's messages sound; replaces the team's brand voice. Blank: the team's"
    )
    banned_phrases = models.JSONField(
        default=list, blank=True, help_text="Phrases its drafts must never contain, added to the team's list"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def label_names(self) -> list[str]:
        return label_names(self.labels)


class SequenceStep(models.Model):
    class Kind(models.TextChoices):
        CONNECTION_NOTE = "connection_note", "LinkedIn connection note"
        MESSAGE = "message", "LinkedIn message"
        INMAIL = "inmail", "InMail"
        EMAIL = "email", "Email"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    delay_days = models.PositiveSmallIntegerField(default=0, help_text="Days after the previous step, if no reply")
    instruction = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["campaign", "order"]
        constraints = [models.UniqueConstraint(fields=["campaign", "order"], name="step_order_unique")]

    def __str__(self) -> str:
        return f"{self.campaign} step {self.order}: {self.get_kind_display()}"


class CampaignRequest(models.Model):
    class Status(models.TextChoices):
        PROPOSING = "proposing", "Being read"
        PENDING = "pending", "Waiting for a manager"
        APPROVED = "approved"
        REJECTED = "rejected"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    proposal = models.JSONField(default=dict, blank=True, help_text="The LLM's structured reading of the text")
    proposed_by = models.CharField(max_length=100, blank=True, help_text='"template" or the model name')
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSING, db_index=True)
    decision_note = models.CharField(max_length=300, blank=True, help_text="Why it was rejected")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.text[:60]
