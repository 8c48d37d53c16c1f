"""CRM sync: a connection per CRM, its field and stage mapping, one row per record synced, a run log.

The SyncRecord rows are the sync's memory: the CRM's id of each of our records and a hash of
what was last sent, so an unchanged record costs no call and a run killed half-way resumes
where it stopped (the CRM-side upsert keys catch what was sent but not yet recorded).
"""

from django.conf import settings
from django.db import models

from salesdept.fields import EncryptedTextField


class CRMConnection(models.Model):
    class Kind(models.TextChoices):
        HUBSPOT = "hubspot", "HubSpot"
        SALESFORCE = "salesforce", "Salesforce"

    class Health(models.TextChoices):
        OK = "ok", "Working"
        AUTH_REFUSED = "auth_refused", "Credentials refused"

    kind = models.CharField(max_length=20, choices=Kind.choices, unique=True)
    # The token (HubSpot private app) or the credentials' JSON (Salesforce). Never shown or logged.
    credentials = EncryptedTextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive connections are not synced.")
    health = models.CharField(max_length=20, choices=Health.choices, default=Health.OK)
    health_reason = models.CharField(max_length=300, blank=True)
    connected_as = models.CharField(max_length=200, blank=True, help_text="The portal / org the credentials reach")
    # Local changes since this instant are sent by the next run (the start of the last run that finished).
    synced_through = models.DateTimeField(null=True, blank=True)
    # Changes made in the CRM since this instant (the CRM's own clock) are read by the next run.
    pulled_through = models.DateTimeField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    # One run per connection at a time: the run holding it, taken by a conditional UPDATE.
    claimed_by_run = models.PositiveIntegerField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class FieldMapping(models.Model):
    """Our field → the CRM's property, or our deal stage (its id) → the CRM's pipeline stage id."""

    class Kind(models.TextChoices):
        CONTACT = "contact", "Contact field"
        STAGE = "stage", "Deal stage"

    connection = models.ForeignKey(CRMConnection, on_delete=models.CASCADE, related_name="mappings")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    ours = models.CharField(max_length=100, help_text="Lead field name, or our DealStage id")
    theirs = models.CharField(max_length=100, blank=True, help_text="CRM property or stage id; blank: not synced")

    class Meta:
        ordering = ["kind", "pk"]
        constraints = [models.UniqueConstraint(fields=["connection", "kind", "ours"], name="crm_mapping_unique")]

    def __str__(self) -> str:
        return f"{self.ours} → {self.theirs or '-'}"


class SyncRecord(models.Model):
    class Kind(models.TextChoices):
        CONTACT = "contact"
        COMPANY = "company"
        DEAL = "deal"
        NOTE = "note"

    class State(models.TextChoices):
        PENDING = "pending", "Not sent yet"
        OK = "ok", "Synced"
        ERROR = "error", "Refused"
        ERASING = "erasing", "Erasure not confirmed yet"
        ERASED = "erased", "Erased in the CRM"

    connection = models.ForeignKey(CRMConnection, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    local_id = models.PositiveIntegerField(help_text="Our Lead, Company, Deal or Activity id")
    # The person the record is about, for their page (a company's record names none).
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    remote_id = models.CharField(max_length=100, blank=True)
    synced_hash = models.CharField(max_length=64, blank=True, help_text="What was last sent; equal: skipped")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    last_error = models.CharField(max_length=500, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["connection", "kind", "local_id"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "kind", "local_id"], name="crm_sync_record_unique"),
        ]
        indexes = [models.Index(fields=["lead", "connection"]), models.Index(fields=["connection", "state"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.local_id} → {self.remote_id or '?'} ({self.state})"


class SyncRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        WAITING = "waiting", "Waiting out a rate limit"
        DONE = "done"
        FAILED = "failed"

    connection = models.ForeignKey(CRMConnection, on_delete=models.CASCADE, related_name="runs")
    full = models.BooleanField(default=False)
    trigger = models.CharField(max_length=20, default="schedule", help_text="schedule, manual")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0, help_text="Unchanged since they were last sent")
    pulled = models.PositiveIntegerField(default=0, help_text="Stage changes made in the CRM, applied here")
    rate_limit_waits = models.PositiveIntegerField(default=0)
    waited_seconds = models.FloatField(default=0)
    error = models.CharField(max_length=500, blank=True)
    notes = models.JSONField(default=list, blank=True, help_text="Conflicts decided, stages not mapped, ...")

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["connection", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.connection} sync {self.started_at:%Y-%m-%d %H:%M} ({self.status})"
