from django.conf import settings
from django.db import models

from salesdept.fields import EncryptedTextField


class Heartbeat(models.Model):
    """Written by a worker on a beat tick: proves beat, broker and worker all run."""

    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class LLMCall(models.Model):
    """One call to a drafting/analysis backend, template calls included: cost is reportable."""

    class Outcome(models.TextChoices):
        OK = "ok"
        INVALID = "invalid", "Invalid output"
        ERROR = "error"
        FALLBACK = "fallback", "Fell back to template"
        TEMPLATE = "template", "Template (no model configured)"

    purpose = models.CharField(max_length=30)
    backend = models.CharField(max_length=20)
    model = models.CharField(max_length=100)
    prompt_version = models.CharField(max_length=40)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    cache_hit = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK)
    error = models.TextField(blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    price_known = models.BooleanField(
        default=True, help_text="False: the model has no price in LLM_PRICES and LLM_DEFAULT_PRICE was charged."
    )
    # Who the call was for: cost per lead, per campaign and per reply are sums over these.
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="llm_calls")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="llm_calls"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "LLM call"

    def __str__(self) -> str:
        return f"{self.purpose} via {self.model} ({self.outcome})"


class LLMBudgetDay(models.Model):
    """A day's model spend, settled and reserved: every worker reserves a call here before making it.

    `committed_usd` is what the day's calls cost plus what calls in flight may cost; a call is
    made only while it is below LLM_DAILY_BUDGET_USD, so concurrent workers overshoot the
    budget by one call at most.
    """

    day = models.DateField(unique=True)
    committed_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)

    class Meta:
        verbose_name = "LLM budget day"

    def __str__(self) -> str:
        return f"{self.day}: ${self.committed_usd}"


class PromptOverride(models.Model):
    """An admin's version of one of the repository's prompts, with the brand's voice."""

    class Name(models.TextChoices):
        QUALIFY = "qualify", "Qualify a lead"
        DRAFT = "draft", "Draft a message"
        FACT_CHECK = "fact_check", "Check a draft's facts"
        ANALYSE_REPLY = "analyse_reply", "Analyse a reply"
        PROPOSE_CAMPAIGN = "propose_campaign", "Read a campaign request"
        SUMMARISE_COMPANY = "summarise_company", "Summarise a company's website"
        INSIGHTS = "insights", "Insights for the daily report"
        READ_TASK = "read_task", "Read a rep's task"

    name = models.CharField(max_length=30, choices=Name.choices, unique=True)
    is_active = models.BooleanField(default=True)
    system = models.TextField(blank=True, help_text="Replaces the repository's system prompt; blank keeps it.")
    instructions = models.TextField(
        blank=True, help_text="Replaces the repository's instructions (user prompt); blank keeps them."
    )
    brand_voice = models.TextField(
        blank=True, help_text="How we sound, added to drafting prompts; a campaign's own brand voice replaces it."
    )
    banned_phrases = models.JSONField(
        default=list,
        blank=True,
        help_text='Phrases a draft must never contain, e.g. ["synergy"]; a campaign may add its own.',
    )
    signature = models.CharField(
        max_length=200,
        blank=True,
        help_text="The team's sign-off for reps who set none on their profile; blank: the rep's name.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.get_name_display()

    @property
    def version(self) -> str:
        return f"{self.name}-admin-{int(self.updated_at.timestamp())}"


class Notification(models.Model):
    """Something a person should look at: shown in the app, and emailed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.text


class DeclaredSchedule(models.Model):
    """The declaration (salesdept/schedules.py) a beat entry was last synced from, as a digest.

    `sync_schedules` rewrites a PeriodicTask only when its declaration changed since: edits an
    admin made to the row in between (interval, enabled) survive every other deploy.
    """

    name = models.CharField(max_length=200, unique=True)
    digest = models.CharField(max_length=64)
    synced_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} ({self.digest[:8]})"


class RepSignature(models.Model):
    """How a rep's drafts sign off, set on their profile page; blank falls back to the team's, then their name."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signature")
    text = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Signature of {self.user}"


class TeamConfig(models.Model):
    """What a manager set on /settings/ for the whole team: one row. Blank falls back to the environment.

    Read only through salesdept/teamconfig.py (llm_config, unipile_config), which caches it per
    process and notices a save from any process by `version`.
    """

    llm_api_key = EncryptedTextField(blank=True)
    llm_base_url = models.CharField(max_length=500, blank=True)
    llm_model = models.CharField(max_length=200, blank=True)
    llm_models = models.JSONField(default=dict, blank=True)  # purpose -> model; a missing one uses llm_model
    llm_daily_budget_usd = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    unipile_dsn = models.CharField(max_length=500, blank=True)
    unipile_api_key = EncryptedTextField(blank=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "team configuration"

    def __str__(self) -> str:
        return f"Team configuration v{self.version}"


class ApiToken(models.Model):
    """A person's key to the REST API: only its sha256 is kept, the token itself is shown once.

    The visible `prefix` ("sd_" and a few characters) names the token in lists and logs.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)  # sha256 hex of the whole token
    read_only = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
