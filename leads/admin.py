from django.contrib import admin

from leads.models import Activity, Company, Enrolment, Lead, SheetSync, Suppression, Task


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "employees"]
    list_filter = ["industry"]
    search_fields = ["name", "domain"]
    readonly_fields = ["created_at"]


class EnrolmentInline(admin.TabularInline):
    """The campaigns the person is in: read only (searches, imports and replies change them)."""

    model = Enrolment
    fields = ["campaign", "status", "step", "enrolled_at", "stopped_reason", "stopped_at"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    inlines = [EnrolmentInline]
    list_display = ["__str__", "position", "company", "status", "score", "score_override", "label", "owner", "campaign"]
    list_filter = ["status", "label", "source", "campaign", "owner"]
    search_fields = ["first_name", "last_name", "email", "linkedin_url", "company__name", "position"]
    list_select_related = ["company", "owner", "campaign"]
    raw_id_fields = ["company"]
    # A status change goes through the lead's lifecycle and a hand-set score through lead_override_score,
    # on the lead's page ("View on site"): both write the timeline, and the score also reorders the sends.
    readonly_fields = [
        "status",
        "score_override",
        "source",
        "source_ref",
        "raw_profile",
        "activity",
        "activity_read_at",
        "score",
        "score_breakdown",
        "created_at",
        "updated_at",
    ]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """The audit log: read only."""

    list_display = ["created_at", "verb", "lead", "actor", "campaign"]
    list_filter = ["verb", "campaign"]
    search_fields = ["verb", "lead__first_name", "lead__last_name", "actor__email"]
    list_select_related = ["lead", "actor", "campaign"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    """Hashes only: an entry can be seen and, for a manual one, removed, never read back as an address."""

    list_display = ["kind", "reason", "created_at"]
    list_filter = ["kind", "reason"]
    readonly_fields = ["kind", "value_hash", "reason", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SheetSync)
class SheetSyncAdmin(admin.ModelAdmin):
    list_display = ["campaign", "worksheet", "enabled", "status", "last_synced_at", "rows_synced", "last_error"]
    list_filter = ["enabled", "status"]
    list_select_related = ["campaign"]
    readonly_fields = ["status", "last_error", "last_synced_at", "rows_synced"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["due_on", "text", "lead", "owner", "status", "drafted_at"]
    list_filter = ["status", "owner"]
    search_fields = ["text", "lead__first_name", "lead__last_name"]
    list_select_related = ["lead", "owner"]
    raw_id_fields = ["lead"]
    readonly_fields = ["due_at", "timezone", "read_by", "drafted_at", "draft_note", "created_at", "closed_at"]
