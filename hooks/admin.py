from django.contrib import admin
from django.db import models

from hooks.models import Delivery, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "is_active", "created_at"]
    list_filter = ["is_active"]
    exclude = ["secret"]  # shown once on the page that creates it, never again
    readonly_fields = ["created_by", "created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "event_id", "endpoint", "status", "attempts", "response_code", "created_at"]
    list_filter = ["status", "event"]
    readonly_fields = [field.name for field in Delivery._meta.fields]
