import functools

from django.contrib.auth import get_user_model
from django.db.models import Exists, IntegerField, QuerySet, Subquery
from django.http import HttpRequest

from salesdept.roles import has_any_role, is_manager


class SubqueryCount(Subquery):
    """How many rows a queryset has, as an expression: several counts in one statement."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()

    def __init__(self, queryset: QuerySet) -> None:
        super().__init__(queryset.order_by().values("pk"))


def _nav_status(user) -> dict:
    """The navigation's numbers in one query: unread notifications, sends to check, campaign
    requests waiting (every one for a manager, a rep's own), and whether one of the user's
    accounts (any account, for a manager) has stopped sending."""
    from campaigns.models import CampaignRequest
    from outreach.selectors import accounts_stopped_for, unknown_messages_for
    from salesdept.models import Notification

    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    requests = CampaignRequest.objects.filter(status=CampaignRequest.Status.PENDING)
    if not is_manager(user):
        requests = requests.filter(requested_by=user)
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .values(
            unread=SubqueryCount(unread),
            unknown=SubqueryCount(unknown_messages_for(user)),
            requests=SubqueryCount(requests),
            stopped=Exists(accounts_stopped_for(user)),
        )
        .get()
    )


def navigation(request: HttpRequest) -> dict:
    """What the navigation shows. Each value is a cached callable: only a page that renders it
    pays its query (an htmx fragment pays nothing), and only once."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @functools.cache
    def pending_count() -> int:
        from approvals.selectors import pending_count_for

        return pending_count_for(user)

    status = functools.cache(lambda: _nav_status(user))

    @functools.cache
    def stopped_accounts() -> list:
        from outreach.selectors import accounts_stopped_for

        return list(accounts_stopped_for(user)) if status()["stopped"] else []  # the list only when there is one

    return {
        "nav_is_manager": is_manager(user),
        "nav_has_role": has_any_role(user),
        "pending_count": pending_count,
        "nav_unread_count": lambda: status()["unread"],
        "nav_unknown_count": lambda: status()["unknown"],
        "nav_requests_count": lambda: status()["requests"],
        "nav_stopped_accounts": stopped_accounts,
    }
