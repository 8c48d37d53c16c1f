from django.contrib import admin

from reporting.models import DailyReport


@admin.register(DailyReport)
class DailyReportAdmin(admin.ModelAdmin):
    list_display = ["date", "recipient", "status", "sent_at"]
    list_filter = ["status"]
    search_fields = ["recipient__email"]
    readonly_fields = ["metrics", "insights", "html", "sent_at", "created_at"]
