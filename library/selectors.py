from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from library.models import ContentItem


def content_items() -> QuerySet[ContentItem]:
    """Active items first, with how many posts cite each."""
    return ContentItem.objects.annotate(post_count=Count("posts")).order_by("-is_active", "-updated_at", "-pk")


def content_item_get(pk: int) -> ContentItem:
    return get_object_or_404(ContentItem, pk=pk)
