from django.contrib import admin

from crm.models import CRMConnection, FieldMapping, SyncRecord, SyncRun


@admin.register(CRMConnection)
class CRMConnectionAdmin(admin.ModelAdmin):
    list_display = ["kind", "is_active", "health", "connected_as", "last_full_sync_at"]
    list_editable = ["is_active"]
    # The credentials are set on /settings/crm/ only: never shown, here neither.
    exclude = ["credentials"]
    readonly_fields = [
        "health",
        "health_reason",
        "connected_as",
        "synced_through",
        "pulled_through",
        "last_full_sync_at",
    ]


@admin.register(FieldMapping)
class FieldMappingAdmin(admin.ModelAdmin):
    list_display = ["connection", "kind", "ours", "theirs"]
    list_filter = ["connection", "kind"]


@admin.register(SyncRecord)
class SyncRecordAdmin(admin.ModelAdmin):
    list_display = ["connection", "kind", "local_id", "remote_id", "state", "synced_at", "last_error"]
    list_filter = ["connection", "kind", "state"]
    raw_id_fields = ["lead"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["connection", "started_at", "status", "created", "updated", "failed", "skipped", "pulled"]
    list_filter = ["connection", "status"]
