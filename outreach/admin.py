from django import forms
from django.contrib import admin

from outreach.models import InboundMessage, OutreachMessage, SendCounter, SendingAccount, WebhookEvent


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
    search_fields = ["name", "owner__email", "provider_account_id", "email_address"]
    readonly_fields = ["health_reason", "paused_until", "next_send_at", "polled_at", "imap_last_uid", "created_at"]
    fieldsets = [
        (None, {"fields": ["name", "channel", "owner", "is_active", "credentials"]}),
        ("Health", {"fields": ["health", "health_reason", "paused_until"]}),
        (
            "Limits (per day unless named; counted in the account's timezone)",
            {
                "fields": [
                    ("daily_invites", "weekly_invites"),
                    ("daily_messages", "daily_inmails", "daily_emails"),
                    ("warmup_start", "warmup_weekly_step", "activated_on"),
                    ("min_gap_seconds", "max_gap_seconds"),
                    ("work_start", "work_end"),
                    "working_days",
                    "timezone",
                    "prospect_hours",
                    "locale",
                ]
            },
        ),
        ("LinkedIn through Unipile", {"fields": ["provider_account_id", "provider_user_id"]}),
        (
            "Email",
            {
                "fields": [
                    "email_address",
                    "login",
                    ("smtp_host", "smtp_port", "smtp_security"),
                    ("imap_host", "imap_port", "imap_ssl"),
                    "imap_last_uid",
                ]
            },
        ),
        ("Activity", {"fields": ["next_send_at", "polled_at", "created_at"]}),
    ]


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
    list_filter = ["kind", "account"]
    date_hierarchy = "day"
    readonly_fields = ["account", "kind", "day", "count", "closed"]
    list_display = ["account", "kind", "day", "count", "closed"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    """What providers told us, as received: read only (a replay goes through the endpoint)."""

    list_display = ["received_at", "source", "event", "key", "processed_at", "error"]
    list_filter = ["source", "event"]
    search_fields = ["key"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
