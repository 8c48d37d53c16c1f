from django.contrib import admin

from library.models import ContentItem


@admin.register(ContentItem)
class ContentItemAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "is_active", "updated_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["title", "summary", "url"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
