from django.contrib import admin

from deals.models import Deal, DealStage


@admin.register(DealStage)
class DealStageAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "outcome", "probability", "is_active"]
    list_editable = ["position", "probability", "is_active"]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ["lead", "stage", "value", "currency", "owner", "expected_close", "closed_at"]
    list_filter = ["stage", "owner"]
    raw_id_fields = ["lead", "campaign"]
    # Stage moves go through deals.services (the timeline, the lead's status, webhooks), not here.
    readonly_fields = ["stage", "opened_at", "stage_changed_at", "closed_at", "lost_reason"]

    def has_add_permission(self, request) -> bool:
        return False  # a deal is opened from its lead, where the lead's status moves with it
