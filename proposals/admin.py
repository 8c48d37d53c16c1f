from django.contrib import admin

from proposals.models import NeedsSummary, Offer, Package, Proposal


class PackageInline(admin.TabularInline):
    model = Package
    extra = 1


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "summary"]
    inlines = [PackageInline]


@admin.register(NeedsSummary)
class NeedsSummaryAdmin(admin.ModelAdmin):
    list_display = ["lead", "generated_by", "created_at", "edited_by"]
    raw_id_fields = ["lead", "llm_call"]
    readonly_fields = ["created_by", "edited_by", "edited_at", "created_at"]


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["title", "lead", "version", "status", "created_at", "sent_at"]
    list_filter = ["status"]
    raw_id_fields = ["lead", "needs", "message"]
    readonly_fields = ["status", "message", "queued_at", "sent_at", "created_by", "created_at"]
