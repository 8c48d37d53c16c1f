import zoneinfo

from django import forms
from django.contrib import admin

from reporting.models import Alert, DailyReport, ReportRecipient


@admin.register(DailyReport)
class DailyReportAdmin(admin.ModelAdmin):
    list_display = ["date", "recipient", "status", "insights_by", "sent_at"]
    list_filter = ["status"]
    search_fields = ["recipient__email"]
    readonly_fields = ["metrics", "insights", "insights_by", "html", "text", "failure", "sent_at", "created_at"]


@admin.register(ReportRecipient)
class ReportRecipientAdmin(admin.ModelAdmin):
    """When each manager gets the daily report; managers without a row get the default time."""

    list_display = ["user", "enabled", "send_at", "timezone"]
    list_filter = ["enabled"]
    search_fields = ["user__email"]
    autocomplete_fields = ["user"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "timezone":  # a choice of real zone names, not free text that fails at 09:15
            zones = sorted(zoneinfo.available_timezones())
            return forms.ChoiceField(choices=[(zone, zone) for zone in zones], initial=db_field.get_default())
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["opened_at", "kind", "message", "resolved_at", "emailed_at"]
    list_filter = ["kind", "resolved_at"]
    readonly_fields = ["kind", "key", "message", "opened_at", "resolved_at", "emailed_at"]

    def has_add_permission(self, request) -> bool:
        return False  # alerts are opened by the health check, not by hand
