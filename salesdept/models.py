from django.db import models


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
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "LLM call"

    def __str__(self) -> str:
        return f"{self.purpose} via {self.model} ({self.outcome})"
