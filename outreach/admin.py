from django import forms
from django.contrib import admin

from outreach.models import InboundMessage, OutreachMessage, SendCounter, SendingAccount


class SendingAccountForm(forms.ModelForm):
    # Write-only: the stored secret is never rendered back; blank keeps it.
    credentials = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Token or password. Encrypted at rest; leave blank to keep the current one.",
    )

    class Meta:
        model = SendingAccount
        fields = "__all__"  # noqa: DJ007 (the admin decides the layout)

    def clean_credentials(self) -> str:
        return self.cleaned_data["credentials"] or (self.instance.credentials if self.instance.pk else "")


@admin.register(SendingAccount)
class SendingAccountAdmin(admin.ModelAdmin):
    form = SendingAccountForm
    list_display = ["name", "channel", "owner", "is_active", "health", "daily_invites", "daily_messages", "timezone"]
    list_filter = ["channel", "health", "is_active"]
    search_fields = ["name", "owner__email", "provider_account_id"]
    readonly_fields = ["next_send_at", "polled_at", "created_at"]


@admin.register(OutreachMessage)
class OutreachMessageAdmin(admin.ModelAdmin):
    list_display = ["pk", "lead", "campaign", "step", "kind", "status", "decided_by", "sent_at", "attempts"]
    list_filter = ["status", "kind", "campaign", "generated_by"]
    search_fields = ["lead__first_name", "lead__last_name", "body", "provider_message_id", "idempotency_key"]
    list_select_related = ["lead", "campaign", "decided_by"]
    raw_id_fields = ["lead", "llm_call"]
    # Status changes go through the services (queue, dispatcher), never a free edit here.
    readonly_fields = [
        "status",
        "reply_to",
        "revision",
        "original_subject",
        "original_body",
        "generated_by",
        "guardrail_findings",
        "decided_by",
        "decided_at",
        "sending_started_at",
        "sent_at",
        "idempotency_key",
        "provider_message_id",
        "chat_id",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
    ]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "lead", "account", "intent", "sentiment", "confidence"]
    list_filter = ["intent", "sentiment", "account"]
    search_fields = ["text", "provider_id", "lead__first_name", "lead__last_name"]
    raw_id_fields = ["lead", "in_reply_to"]
    readonly_fields = ["provider_id", "analysis", "created_at"]


@admin.register(SendCounter)
class SendCounterAdmin(admin.ModelAdmin):
    list_display = ["account", "kind", "day", "count"]
    list_filter = ["kind", "account"]
    date_hierarchy = "day"
    readonly_fields = ["account", "kind", "day", "count"]
