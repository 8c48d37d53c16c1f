from django.contrib import admin
from django.db import models

from campaigns.models import PROSPECT_FACING_FIELDS, Campaign, CampaignRequest, SequenceStep, TargetProfile


class SequenceStepInline(admin.TabularInline):
    model = SequenceStep
    extra = 1


@admin.register(TargetProfile)
class TargetProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "titles", "industries", "locations", "linkedin_api"]
    list_filter = ["linkedin_api"]
    search_fields = ["name"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Django 6's default, today
    fieldsets = [
        (None, {"fields": ["name"]}),
        ("Who", {"fields": ["titles", "seniorities", "industries", "locations", "company_sizes"]}),
        ("Words", {"fields": ["keywords", "exclusions"]}),
        (
            "LinkedIn search",
            {
                "fields": ["linkedin_api", "linkedin_search_url"],
                "description": "A pasted search URL replaces the filters above for the LinkedIn (Unipile) source.",
            },
        ),
    ]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "owner", "target", "min_score", "daily_lead_quota", "created_at"]
    list_filter = ["status", "owner"]
    search_fields = ["name", "offer", "event"]
    filter_horizontal = ["sending_accounts"]
    inlines = [SequenceStepInline]
    readonly_fields = ["search_cursors", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "owner", "status", "target"]}),
        ("Qualifying", {"fields": ["labels", "min_score", "daily_lead_quota", "lead_goal", "lead_sources"]}),
        ("Sending", {"fields": ["sending_accounts"]}),
        (
            "Brief: prospects may read these",
            {
                "fields": [*PROSPECT_FACING_FIELDS, "language"],
                "description": "Messages draw on these fields only; labels carry each label's angle.",
            },
        ),
        ("Voice: told to the writer, never read by prospects", {"fields": ["brand_voice", "banned_phrases"]}),
        ("Internal", {"fields": ["internal_notes"]}),
        ("Bookkeeping", {"fields": ["search_cursors", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]


@admin.register(CampaignRequest)
class CampaignRequestAdmin(admin.ModelAdmin):
    list_display = ["text", "requested_by", "status", "decided_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["text"]
    readonly_fields = ["proposal", "decided_by", "decided_at", "campaign", "created_at"]
