"""The content library: what we publish and may share (articles, case studies, event pages).

Posts, counter-moves and nurturing touches cite it: a claim about us that is not in an item's
summary or facts is not ours to make.
"""

from django.conf import settings
from django.db import models


class ContentItem(models.Model):
    class Kind(models.TextChoices):
        ARTICLE = "article"
        CASE_STUDY = "case_study", "Case study"
        EVENT = "event", "Event page"
        PRODUCT = "product", "Product page"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ARTICLE)
    title = models.CharField(max_length=200)
    url = models.URLField(max_length=500)
    summary = models.TextField(help_text="What it says, in a few sentences: drafts may quote it.")
    facts = models.JSONField(
        default=list, blank=True, help_text='Claims about us it supports, one per entry, e.g. ["Used by 40 banks"].'
    )
    labels = models.JSONField(default=list, blank=True, help_text="Lead labels it suits; empty: any.")
    industries = models.JSONField(default=list, blank=True, help_text="Industries it suits; empty: any.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return self.title
