from django.contrib import admin

from competitors.models import Competitor, CompetitorPost, CompetitorSummary


@admin.register(Competitor)
class CompetitorAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "linkedin_id", "is_active", "last_read_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "public_identifier"]


@admin.register(CompetitorPost)
class CompetitorPostAdmin(admin.ModelAdmin):
    list_display = ["competitor", "posted_at", "reactions", "comments"]
    list_filter = ["competitor"]
    readonly_fields = ["read_at", "engagers_read_at"]


@admin.register(CompetitorSummary)
class CompetitorSummaryAdmin(admin.ModelAdmin):
    list_display = ["competitor", "week_start", "written_by"]
