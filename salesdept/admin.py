from django.contrib import admin

from salesdept.llm.prompts import PROMPTS
from salesdept.models import Heartbeat, LLMCall, PromptOverride


@admin.register(LLMCall)
class LLMCallAdmin(admin.ModelAdmin):
    search_fields = ["error", "request_id", "lead__first_name", "lead__last_name", "campaign__name"]
    list_select_related = ["lead", "campaign"]
    list_display = [
        "created_at",
        "purpose",
        "backend",
        "model",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "latency_ms",
        "cache_hit",
        "outcome",
        "price_known",
        "error_shown",
    ]
    list_filter = ["purpose", "backend", "model", "outcome", "cache_hit", "price_known"]
    date_hierarchy = "created_at"

    @admin.display(description="Error (the server's own words)")
    def error_shown(self, call: LLMCall) -> str:
        return call.error if len(call.error) <= 200 else call.error[:199] + "…"

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "beat_at"]


@admin.register(PromptOverride)
class PromptOverrideAdmin(admin.ModelAdmin):
    """Admins tune the prompts; the repository's version shows beside the field it replaces."""

    list_display = ["name", "is_active", "updated_at"]
    list_filter = ["is_active"]
    readonly_fields = ["repository_system", "repository_instructions", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "is_active"]}),
        ("Voice (drafting)", {"fields": ["brand_voice", "banned_phrases", "signature"]}),
        ("Prompt text", {"fields": ["system", "repository_system", "instructions", "repository_instructions"]}),
        (None, {"fields": ["updated_at"]}),
    ]

    @admin.display(description="Repository system prompt")
    def repository_system(self, obj) -> str:
        return PROMPTS[obj.name].system if obj and obj.name in PROMPTS else "Pick a prompt and save to see it."

    @admin.display(description="Repository instructions")
    def repository_instructions(self, obj) -> str:
        return PROMPTS[obj.name].instructions if obj and obj.name in PROMPTS else ""
