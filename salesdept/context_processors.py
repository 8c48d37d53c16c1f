import functools

from django.http import HttpRequest

from salesdept.roles import has_any_role, is_manager


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @functools.cache
    def pending_count() -> int:  # a callable: only pages that show the badge pay the query, once
        from approvals.selectors import pending_count_for

        return pending_count_for(user)

    return {"nav_is_manager": is_manager(user), "nav_has_role": has_any_role(user), "pending_count": pending_count}
