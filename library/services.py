"""Writes to the content library: add, change, retire. A retired item is kept (posts cite it) but never suggested."""

from django.db import transaction

from library.models import ContentItem

FIELDS = ["kind", "title", "url", "summary", "facts", "labels", "industries"]


@transaction.atomic
def content_item_save(*, item: ContentItem | None, actor, data: dict) -> ContentItem:
    if item is None:
        return ContentItem.objects.create(created_by=actor, **{name: data[name] for name in FIELDS})
    for name in FIELDS:
        setattr(item, name, data[name])
    item.save(update_fields=[*FIELDS, "updated_at"])
    return item


@transaction.atomic
def content_item_set_active(*, item: ContentItem, active: bool) -> bool:
    """False when it already was (a second click changes nothing)."""
    return bool(ContentItem.objects.filter(pk=item.pk, is_active=not active).update(is_active=active))
