from django.db.models import Count, Q, QuerySet

from hooks.models import Delivery, Endpoint

DELIVERY_LOG_PAGE = 50


def endpoint_list() -> QuerySet[Endpoint]:
    """Every endpoint with its delivery counts by outcome (one query)."""
    return Endpoint.objects.select_related("created_by").annotate(
        delivered=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.DELIVERED)),
        pending=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
    )


def delivery_log(*, endpoint: Endpoint, before: int | None = None) -> list[Delivery]:
    """The newest deliveries first, paged by id (never OFFSET): one more than a page says there are older."""
    rows = endpoint.deliveries.order_by("-pk")
    if before is not None:
        rows = rows.filter(pk__lt=before)
    return list(rows[: DELIVERY_LOG_PAGE + 1])
