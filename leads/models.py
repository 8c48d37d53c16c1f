from django.conf import settings
from django.db import models
from django.db.models import IntegerField, Q, Value
from django.db.models.functions import Coalesce
from django.urls import reverse


# The score a lead is ranked by: the rep's hand-set score when there is one. Unscored leads rank
# as -1, after every scored one, so the sort key is never null (keyset pages compare it with <
# and =). The lead list sorts by this exact expression, so the database can use its index.
def ranked_score(path: str = "") -> Coalesce:
    """The ranked score of the lead at `path` (e.g. "lead__" from a message)."""
    return Coalesce(f"{path}score_override", f"{path}score", Value(-1), output_field=IntegerField())


RANKED_SCORE = ranked_score()
# What the queue's walk asks of each lead besides its rank: the rank's own columns (an index-only scan
# wants them, not the expression) and the status (a snoozed lead's drafts wait out of the queue).
RANKED_INCLUDE = ("score", "score_override", "status")


class Company(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True)
    # Enrichment: the front page of the company's website, fetched and summarised for personalisation.
    website = models.URLField(max_length=300, blank=True)
    summary = models.TextField(blank=True, help_text="What the company's website says it does, in a few lines.")
    summary_fetched_at = models.DateTimeField(null=True, blank=True)
    summary_error = models.CharField(max_length=300, blank=True, help_text="Why the last fetch failed")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["domain"], condition=~Q(domain=""), name="company_domain_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    class Status(models.TextChoices):
        NEW = "new"
        QUALIFIED = "qualified"
        DISQUALIFIED = "disqualified"
        CONTACTED = "contacted"
        REPLIED = "replied"
        INTERESTED = "interested"
        MEETING = "meeting"
        WON = "won"
        LOST = "lost"
        DO_NOT_CONTACT = "do_not_contact", "Do not contact"
        SNOOZED = "snoozed"

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    headline = models.CharField(max_length=300, blank=True)
    position = models.CharField(max_length=200, blank=True)
    seniority = models.CharField(max_length=30, blank=True)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    # Normalised (lower case, no query, no trailing slash) before it is stored.
    linkedin_url = models.CharField(max_length=300, null=True, blank=True, unique=True)
    provider_id = models.CharField(max_length=100, blank=True, help_text="The provider's id for this person.")
    email = models.EmailField(null=True, blank=True)
    # "first last|company", normalised (leads.dedupe.name_key): the third way to spot a duplicate.
    name_key = models.CharField(max_length=300, blank=True, db_index=True, editable=False)
    location = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=50, blank=True)

    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    source = models.CharField(max_length=30)
    source_ref = models.CharField(max_length=200, blank=True)
    raw_profile = models.JSONField(default=dict, blank=True)
    # What the person did lately on LinkedIn (posts, comments, reactions, a job change), newest first, as
    # leads.intent stores it; read within the account's profile views, so kept and re-read only when stale.
    activity = models.JSONField(default=list, blank=True)
    activity_read_at = models.DateTimeField(null=True, blank=True, help_text="When the activity was last read.")

    label = models.CharField(max_length=50, blank=True)
    label_confidence = models.FloatField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    score_breakdown = models.JSONField(default=list, blank=True)
    score_override = models.PositiveSmallIntegerField(null=True, blank=True)
    insight = models.CharField(max_length=300, blank=True, help_text="Why this prospect, in one line.")
    needs_review = models.BooleanField(default=False, help_text="The classification was not confident enough.")
    review_reason = models.CharField(
        max_length=500, blank=True, help_text="Why a person should check the classification (e.g. the model failed)."
    )
    classified_by = models.CharField(max_length=100, blank=True, help_text='"template" or the model name')

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW, db_index=True)
    owner = models.ForeignKey(  # indexed with the id (lead_owner_idx)
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads", db_index=False
    )
    snoozed_until = models.DateField(null=True, blank=True)
    unreachable = models.BooleanField(default=False, help_text="No channel we have can reach this person")
    email_bounced_at = models.DateTimeField(null=True, blank=True, help_text="Mail to the address bounced")
    # In every email's unsubscribe link and List-Unsubscribe header: opting out needs no login.
    unsubscribe_token = models.CharField(max_length=43, null=True, blank=True, unique=True, editable=False)
    consent_basis = models.CharField(max_length=50, default="legitimate_interest")
    email_opt_in = models.BooleanField(default=False)
    # The rep turned nurturing off: no weekly nurturing touch is suggested for this person.
    nurture_off = models.BooleanField(default=False)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["email"], condition=Q(email__isnull=False), name="lead_email_unique"),
        ]
        indexes = [
            # A rep's leads in id order: their drafts are counted by merging this with the waiting drafts'
            # index (outreach's message_waiting_idx), neither table's rows read.
            models.Index(fields=["owner", "id"], name="lead_owner_idx"),
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["campaign", "status"]),
            # The queue walks leads in rank order to find a page of drafts (approvals.selectors.queue_page_for):
            # the included columns are what it asks of each lead it passes, so the walk reads no lead's row.
            models.Index(RANKED_SCORE, "id", name="lead_ranked_score", include=RANKED_INCLUDE),
            # A rep's queue and lead list walk their own leads in rank order, not everyone's.
            models.Index("owner", RANKED_SCORE, "id", name="lead_owner_ranked_score", include=RANKED_INCLUDE),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        """The lead's page (admin's "View on site"), where its status and hand-set score change."""
        return reverse("leads:detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def effective_score(self) -> int | None:
        return self.score_override if self.score_override is not None else self.score


class Enrolment(models.Model):
    """A person's place in one campaign: its own status and step; the person stays one Lead.

    The lead's `campaign` is its home campaign (where it was found and is qualified); every
    campaign it is in, the home one included, has an Enrolment. The contact budget, do-not-contact
    and the timeline stay on the Lead, so they hold across every campaign.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        STOPPED = "stopped"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="enrolments")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    step = models.PositiveSmallIntegerField(default=0, help_text="The last step of the sequence sent; 0: none yet")
    enrolled_at = models.DateTimeField()
    stopped_reason = models.CharField(max_length=300, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["enrolled_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["lead", "campaign"], name="enrolment_unique")]
        indexes = [models.Index(fields=["campaign", "status"])]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.campaign_id} ({self.status})"


class Activity(models.Model):
    """One row per thing that happened: the timeline, the audit log and the source of metrics."""

    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="activities")
    message = models.ForeignKey(
        "outreach.OutreachMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    verb = models.CharField(max_length=50, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["lead", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.verb} on {self.lead_id or '-'}"


class Suppression(models.Model):
    """Never contact again: checked at import, drafting, approval and send. Kept after erasure.

    Only a hash of the normalised value is stored, so an erased person stays suppressed without
    their address being kept.
    """

    class Kind(models.TextChoices):
        EMAIL = "email"
        EMAIL_DOMAIN = "email_domain", "Email domain"
        LINKEDIN = "linkedin", "LinkedIn profile"

    class Reason(models.TextChoices):
        UNSUBSCRIBE = "unsubscribe"
        OBJECTION = "objection"
        BOUNCE = "bounce"
        COMPLAINT = "complaint"
        ERASURE = "erasure"
        MANUAL = "manual"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    value_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value_hash"], name="suppression_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} suppressed ({self.reason})"


class ImportJob(models.Model):
    """A CSV upload: previewed and mapped by a person, then imported in the background.

    The file is kept in the database, not on a disk, so any worker on any machine can read it.
    Rows are checked first and written in one transaction: a failed import stores nothing.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Waiting for the column mapping"
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="imports"
    )
    file_name = models.CharField(max_length=255)
    data = models.BinaryField(help_text="The uploaded file, as it came")
    encoding = models.CharField(max_length=30, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True, help_text="Lead field -> column header")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED, db_index=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    merged_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    error_report = models.TextField(blank=True, help_text="CSV: row number, column, problem, the row as read")
    failure = models.CharField(max_length=500, blank=True, help_text="Why the whole import stopped")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


class SearchRun(models.Model):
    """One search of one source for one campaign: what the campaign page shows as progress."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="search_runs")
    source = models.CharField(max_length=30)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    wanted = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0, help_text="People the source returned")
    stored = models.PositiveIntegerField(default=0, help_text="New leads")
    enrolled = models.PositiveIntegerField(default=0, help_text="Already known: added to this campaign too")
    duplicates = models.PositiveIntegerField(default=0, help_text="Already known and not added (notes say why)")
    error = models.CharField(max_length=500, blank=True)
    notes = models.JSONField(default=list, blank=True, help_text="What the source skipped or could not do")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["campaign", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.source} search for {self.campaign_id} ({self.status})"


class SearchParameter(models.Model):
    """A search filter's text resolved to the provider's ids (LinkedIn filters take ids), cached."""

    source = models.CharField(max_length=30)
    kind = models.CharField(max_length=30, help_text="LOCATION, INDUSTRY, JOB_TITLE, ...")
    text = models.CharField(max_length=200, help_text="Normalised: lower case, single spaces")
    ids = models.JSONField(default=list, blank=True, help_text='[{"id": ..., "title": ...}]; empty: no match')
    resolved_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "kind", "text"], name="search_parameter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.text!r}"


class SheetSync(models.Model):
    """A campaign's leads mirrored to a Google Sheet, upserted by lead id."""

    class Status(models.TextChoices):
        IDLE = "idle", "Not synced yet"
        QUEUED = "queued"
        RUNNING = "running"
        OK = "ok", "Synced"
        RETRYING = "retrying", "Waiting to retry"
        FAILED = "failed"

    campaign = models.OneToOneField("campaigns.Campaign", on_delete=models.CASCADE, related_name="sheet_sync")
    spreadsheet = models.CharField(max_length=300, help_text="The sheet's URL or key, shared with the service account")
    worksheet = models.CharField(max_length=100, default="Leads")
    columns = models.JSONField(default=list, blank=True, help_text="Lead fields, in order; empty: the default set")
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IDLE)
    # When a worker took it: a run older than SHEET_SYNC_STALE_MINUTES died with its worker.
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=500, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    rows_synced = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Sheet sync for {self.campaign}"


class Task(models.Model):
    """Something a rep asked for in plain words about one lead, dated: when due, a draft for approval.

    `due_on` is a date on the rep's calendar (`timezone`); `due_at` is the instant that day
    begins there, which the sweeper compares with the clock. `drafted_at` is the sweeper's
    claim: set once, by a conditional update, so two workers never make two drafts.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        DONE = "done"
        CANCELLED = "cancelled"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(max_length=300, help_text="What the rep asked for, as written")
    instruction = models.CharField(max_length=300, help_text="What the drafting model is asked to do")
    due_on = models.DateField()
    timezone = models.CharField(max_length=50, help_text="The zone `due_on` is a date in")
    due_at = models.DateTimeField(help_text="When `due_on` begins in `timezone`")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    read_by = models.CharField(max_length=100, blank=True, help_text='"offline reader" or the model name')
    drafted_at = models.DateTimeField(null=True, blank=True, help_text="When the sweeper took it to draft")
    draft_note = models.CharField(max_length=300, blank=True, help_text="Why no draft was made, when none was")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [
            models.Index(fields=["owner", "status", "due_on"]),
            models.Index(fields=["due_at"], condition=Q(status="open", drafted_at__isnull=True), name="task_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.text} ({self.due_on})"

    @property
    def overdue(self) -> bool:
        """Open after its day has ended on its rep's calendar."""
        from salesdept import clock

        return self.status == self.Status.OPEN and self.due_on < clock.today(self.timezone)
