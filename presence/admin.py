from django.contrib import admin

from presence.models import Engagement, Post, PostingOptIn


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["pk", "author", "rep", "account", "status", "publish_at", "published_at"]
    list_filter = ["status", "author"]
    search_fields = ["text", "provider_post_id"]
    readonly_fields = ["idempotency_key", "provider_post_id", "attempts", "sending_started_at", "published_at"]


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    list_display = ["post", "kind", "name", "lead", "outcome"]
    list_filter = ["kind"]


admin.site.register(PostingOptIn)
