"""Outbound webhooks: the endpoints a manager registers, and one row per delivery of an event to one.

A delivery row is the outbox: it is written in the transaction of what happened, then a worker
sends it (hooks.delivery), retrying with backoff for a day. A replay is a new row carrying the
same event id and body, so the receiver can tell it is the same event.
"""

import uuid

from django.conf import settings
from django.db import models

from salesdept.fields import EncryptedTextField


class Event(models.TextChoices):
    LEAD_CREATED = "lead.created", "Lead created"
    LEAD_STATUS_CHANGED = "lead.status_changed", "Lead status changed"
    MESSAGE_APPROVED = "message.approved", "Message approved"
    MESSAGE_SENT = "message.sent", "Message sent"
    MESSAGE_FAILED = "message.failed", "Message failed"
    REPLY_RECEIVED = "reply.received", "Reply received (with its intent)"
    IMPORT_FINISHED = "import.finished", "CSV import finished"
    DEAL_STAGE_CHANGED = "deal.stage_changed", "Deal opened or moved to another stage"


class Endpoint(models.Model):
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The Event values it receives.")
    # The signing secret: shown once when the endpoint is added, then only used to sign.
    secret = EncryptedTextField()
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed: given up"

    event_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    event = models.CharField(max_length=40, choices=Event.choices)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    payload = models.JSONField(help_text="The body sent, as sent (ids and what the event needs, never a message body).")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        indexes = [
            # The sweep's read: pending deliveries that are due.
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="hooks_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} → {self.endpoint_id}"
