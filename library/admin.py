from django.contrib import admin

from library.models import ContentItem, Nurture


@admin.register(ContentItem)
class ContentItemAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "is_active", "updated_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["title", "summary", "url"]
    readonly_fields = ["created_by", "created_at", "updated_at"]


@admin.register(Nurture)
class NurtureAdmin(admin.ModelAdmin):
    list_display = ["lead", "reason", "item", "week", "created_at"]
    list_filter = ["reason", "week"]
    raw_id_fields = ["lead", "message", "item"]
    readonly_fields = ["created_at"]
