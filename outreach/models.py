import datetime as dt
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from campaigns.kinds import kind_rules
from campaigns.models import SequenceStep
from salesdept.fields import EncryptedTextField


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/London.") from None


def default_working_days() -> list[int]:
    return [0, 1, 2, 3, 4]  # Monday to Friday


class Locale(models.TextChoices):
    EN_GB = "en-GB", "English (UK and most of the world)"
    EN_US = "en-US", "English (US)"
    DE = "de", "German"
    FR = "fr", "French"
    ES = "es", "Spanish"


class SendingAccount(models.Model):
    class Channel(models.TextChoices):
        SANDBOX = "sandbox", "Sandbox (simulated)"
        UNIPILE = "unipile", "LinkedIn via Unipile"
        EMAIL = "email", "Email (SMTP/IMAP)"

    class Health(models.TextChoices):
        OK = "ok", "OK"
        PAUSED = "paused"
        AUTH_ERROR = "auth_error", "Needs reconnecting"
        RESTRICTED = "restricted"

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SANDBOX)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sending_accounts")
    is_active = models.BooleanField(default=True)
    credentials = EncryptedTextField(blank=True, help_text="Provider token or password, encrypted at rest.")
    provider_account_id = models.CharField(max_length=100, blank=True, help_text="Unipile's account id")
    provider_user_id = models.CharField(
        max_length=100, blank=True, help_text="The account's own LinkedIn id: its own messages are not replies"
    )
    # What the LinkedIn account can do, read from Unipile's /users/me when it connects.
    is_premium = models.BooleanField(default=False, help_text="LinkedIn Premium")
    has_sales_navigator = models.BooleanField(default=False, help_text="A Sales Navigator seat")
    has_recruiter = models.BooleanField(default=False, help_text="A Recruiter seat")
    capabilities_read_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Email (SMTP out, IMAP in). The password is `credentials`.
    email_address = models.EmailField(blank=True, help_text="The From address")
    login = models.CharField(max_length=200, blank=True, help_text="SMTP and IMAP user name; blank: the address")
    smtp_host = models.CharField(max_length=200, blank=True)
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_security = models.CharField(
        max_length=10,
        choices=[("starttls", "STARTTLS"), ("ssl", "SSL/TLS"), ("none", "None (local testing only)")],
        default="starttls",
    )
    imap_host = models.CharField(max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_ssl = models.BooleanField(default=True)
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    imap_last_uid = models.BigIntegerField(default=0, editable=False)

    # Limits (providers.md §2.2): caps per action kind, counted in the account's local day.
    daily_invites = models.PositiveSmallIntegerField(default=15)
    weekly_invites = models.PositiveSmallIntegerField(default=80)
    daily_messages = models.PositiveSmallIntegerField(default=40)
    daily_inmails = models.PositiveSmallIntegerField(default=10)
    daily_emails = models.PositiveSmallIntegerField(default=30)
    daily_profile_views = models.PositiveSmallIntegerField(
        default=40, help_text="Each profile lookup counts as a visit (providers.md §2.2)"
    )
    warmup_start = models.PositiveSmallIntegerField(default=5, help_text="Daily cap per kind in the first week")
    warmup_weekly_step = models.PositiveSmallIntegerField(default=5, help_text="Added to the cap each week")
    activated_on = models.DateField(default=dt.date.today)
    min_gap_seconds = models.PositiveIntegerField(default=120)
    max_gap_seconds = models.PositiveIntegerField(default=360)
    work_start = models.TimeField(default=dt.time(9, 0))
    work_end = models.TimeField(default=dt.time(17, 30))
    working_days = models.JSONField(default=default_working_days, help_text="0 = Monday … 6 = Sunday")
    timezone = models.CharField(max_length=50, default="Europe/London", validators=[validate_timezone])
    prospect_hours = models.BooleanField(
        default=False, help_text="Also keep to working hours in the prospect's timezone, when it is known"
    )
    locale = models.CharField(
        max_length=10,
        choices=Locale.choices,
        default=Locale.EN_GB,
        help_text="How its prospects write dates: in en-US 3/1 is 1 March, elsewhere 3 January",
    )

    health = models.CharField(max_length=12, choices=Health.choices, default=Health.OK)
    health_reason = models.CharField(max_length=300, blank=True)
    # Set when the provider, not a person, paused the account; a provider "ok" lifts only these.
    paused_by_provider = models.BooleanField(default=False, editable=False)
    paused_until = models.DateTimeField(
        null=True, blank=True, help_text="An automatic pause (repeated rate limits) ends by itself at this time"
    )
    next_send_at = models.DateTimeField(null=True, blank=True, help_text="Random gap: nothing goes out before this")
    polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.min_gap_seconds > self.max_gap_seconds:
            raise ValidationError({"max_gap_seconds": "The largest gap must be at least the smallest."})
        if self.work_start >= self.work_end:
            raise ValidationError({"work_end": "Working hours must end after they start."})
        if not isinstance(self.working_days, list) or not all(d in range(7) for d in self.working_days):
            raise ValidationError({"working_days": "A list of weekday numbers, 0 (Monday) to 6 (Sunday)."})
        if self.channel == self.Channel.EMAIL:
            missing = [f for f in ("email_address", "smtp_host", "imap_host") if not getattr(self, f)]
            if missing:
                raise ValidationError({f: "An email account needs this." for f in missing})
        if self.channel == self.Channel.UNIPILE and not self.provider_account_id:
            raise ValidationError({"provider_account_id": "A LinkedIn account needs Unipile's account id."})

    @classmethod
    def channels_for(cls, kind: str) -> tuple[str, ...]:
        """The channels that can send a message of this kind (the sandbox simulates them all)."""
        return kind_rules(kind).channels

    @property
    def domain(self) -> str:
        """The domain our Message-IDs use: the From address's."""
        return self.email_address.rpartition("@")[2] or "localhost"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class LinkedInLink(models.Model):
    """One "Connect LinkedIn" (or "Reconnect") click: the hosted-auth link Unipile answers for, once.

    Unipile calls the link's notify URL when the rep has signed in. The URL carries a secret only
    this row can check (its hash is kept, never the secret), so nobody else can attach an account.
    """

    class Kind(models.TextChoices):
        CREATE = "create"
        RECONNECT = "reconnect"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="linkedin_links")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    account = models.ForeignKey(
        SendingAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="linkedin_links"
    )
    secret_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    provider_account_id = models.CharField(max_length=100, blank=True, help_text="What Unipile's notify named")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} LinkedIn for {self.user_id} ({'used' if self.used_at else 'open'})"


class SendCounter(models.Model):
    """Sends taken today per account and kind: caps hold across any number of workers."""

    class Kind(models.TextChoices):
        INVITE = "invite"
        MESSAGE = "message"
        INMAIL = "inmail", "InMail"
        EMAIL = "email"
        PROFILE_VIEW = "profile_view", "Profile view"

    account = models.ForeignKey(SendingAccount, on_delete=models.CASCADE, related_name="counters")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    day = models.DateField(help_text="The account's local date")
    count = models.PositiveIntegerField(default=0)
    # The provider said "too many" today: nothing more of this kind until the next local day.
    closed = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind", "day"], name="send_counter_unique")]

    def __str__(self) -> str:
        return f"{self.account} {self.kind} {self.day}: {self.count}"


class OutreachMessage(models.Model):
    class Status(models.TextChoices):
        GENERATING = "generating"
        PENDING_APPROVAL = "pending_approval", "Waiting for approval"
        APPROVED = "approved"
        SENDING = "sending"
        SENT = "sent"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        FAILED = "failed"
        UNKNOWN = "unknown", "Outcome unknown"

    Kind = SequenceStep.Kind

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="messages")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="messages")
    account = models.ForeignKey(
        SendingAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    step = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Set on an answer to a prospect's reply; empty on the messages of the campaign's sequence.
    reply_to = models.ForeignKey(
        "InboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="suggested_answers"
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    original_subject = models.CharField(max_length=200, blank=True)
    original_body = models.TextField(blank=True, help_text="The generated text, kept when a rep edits it")
    generated_by = models.CharField(max_length=100, blank=True, help_text='"template" or the model name')
    llm_call = models.ForeignKey("salesdept.LLMCall", null=True, blank=True, on_delete=models.SET_NULL)
    guardrail_findings = models.JSONField(default=list, blank=True)
    # A blocking finding keeps the draft out of the approval queue until it is regenerated.
    blocked = models.BooleanField(default=False)
    instruction = models.CharField(max_length=300, blank=True, help_text="The rep's last regenerate instruction")

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.GENERATING)
    # Bumped on every change of text: a form rendered before a change is stale.
    revision = models.PositiveIntegerField(default=1)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(max_length=300, blank=True)

    not_before = models.DateTimeField(null=True, blank=True)
    priority = models.IntegerField(
        default=-1, help_text="The lead's ranked score, kept here for the send order (outreach.services.LEAD_PRIORITY)"
    )
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Unipile's message or invitation id, or the email's Message-ID.
    provider_message_id = models.CharField(max_length=200, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True, help_text="When the invitation was accepted")
    withdrawn_at = models.DateTimeField(null=True, blank=True, help_text="When a stale invitation was withdrawn")
    # The recipient could not be reached on the channel of `rerouted_from`: this goes another way.
    rerouted_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rerouted_to"
    )
    # Drafted for a rep's task on the lead ("follow up next Tuesday about..."), not a sequence step.
    task = models.OneToOneField(
        "leads.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="message", editable=False
    )
    chat_id = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One sequence message per lead, campaign and step: a repeated draft task cannot double it.
            # A rep's own messages (step 0, outside the sequence) are as many as they write.
            models.UniqueConstraint(
                fields=["lead", "campaign", "step"],
                condition=Q(reply_to__isnull=True, rerouted_from__isnull=True, task__isnull=True, step__gt=0),
                name="message_step_unique",
            ),
            # One suggested answer per reply, however often its analysis runs.
            models.UniqueConstraint(
                fields=["reply_to"], condition=Q(reply_to__isnull=False), name="message_reply_to_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["account", "status", "not_before"]),
            # The send order: an account's approved messages, best-scored lead first, then the longest waiting.
            models.Index(
                fields=["account", "-priority", "decided_at", "id"],
                condition=Q(status="approved"),
                name="message_send_order_idx",
            ),
            # Invitations still waiting to be accepted: acceptance polling and stale withdrawal.
            models.Index(
                fields=["account", "sent_at"],
                condition=Q(kind="connection_note", status="sent", accepted_at__isnull=True, withdrawn_at__isnull=True),
                name="message_open_invite_idx",
            ),
            # The queues: what waits for a person, and what a guardrail stopped. The drafts waiting hold
            # what counting them reads (approvals.selectors.COUNTED_WAITING): PostgreSQL counts them from
            # this index alone, and a rep's by merging it with their leads' (leads' lead_owner_idx).
            models.Index(
                fields=["lead"],
                include=["reply_to", "id"],  # and the queue's walk finds a page's ids here (queue_page_for)
                condition=models.Q(status="pending_approval", blocked=False),
                name="message_waiting_idx",
            ),
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending_approval", blocked=True),
                name="message_blocked_idx",
            ),
        ]
        permissions = [("approve_outreachmessage", "Can approve outreach messages")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.lead_id} ({self.status})"

    @property
    def body_limit(self) -> int:
        """Characters the channel accepts in the body."""
        return kind_rules(self.kind).limit

    @property
    def needs_subject(self) -> bool:
        return kind_rules(self.kind).needs_subject

    @property
    def blocking_findings(self) -> list[dict]:
        return [finding for finding in self.guardrail_findings if finding.get("blocking")]


class InboundMessage(models.Model):
    class Intent(models.TextChoices):
        INTERESTED = "interested"
        REQUESTING_INFO = "requesting_info", "Requesting info"
        NOT_INTERESTED = "not_interested", "Not interested"
        NOT_NOW = "not_now", "Not now"
        REFERRAL = "referral"
        OUT_OF_OFFICE = "out_of_office", "Out of office"
        UNSUBSCRIBE = "unsubscribe"
        UNCLEAR = "unclear"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="inbound_messages")
    account = models.ForeignKey(SendingAccount, on_delete=models.PROTECT, related_name="inbound_messages")
    in_reply_to = models.ForeignKey(
        OutreachMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    provider_id = models.CharField(max_length=200, unique=True)
    text = models.TextField()
    received_at = models.DateTimeField()
    sentiment = models.CharField(max_length=10, blank=True)
    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    analysis = models.JSONField(default=dict, blank=True)
    snooze_until = models.DateField(null=True, blank=True)
    needs_look = models.BooleanField(
        default=False, db_index=True, help_text="Read with too little confidence to act on: a rep confirms the intent"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"Reply from {self.lead_id}: {self.text[:40]}"


class WebhookEvent(models.Model):
    """A provider's event as received: stored once per key, processed by a worker."""

    source = models.CharField(max_length=20)
    key = models.CharField(max_length=300, help_text="The provider's id for the event: a replay finds it")
    event = models.CharField(max_length=50)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="webhook_event_unique")]

    def __str__(self) -> str:
        return f"{self.source} {self.event} {self.key}"
