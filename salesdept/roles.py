"""Roles are Django groups. Reps see their own work; managers and admins see everyone's."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse

REP = "Sales rep"
MANAGER = "Manager"
ADMIN = "Admin"
ROLES = (REP, MANAGER, ADMIN)


def user_roles(user) -> frozenset[str]:
    """The user's role names, read once per request and kept on the user object."""
    if not user.is_authenticated:
        return frozenset()
    if not hasattr(user, "_role_names"):
        names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            names.add(ADMIN)
        user._role_names = frozenset(names)
    return user._role_names


def is_manager(user) -> bool:
    return bool(user_roles(user) & {MANAGER, ADMIN})


def has_any_role(user) -> bool:
    return bool(user_roles(user))


def role_required(*roles: str) -> Callable:
    """403 unless the user holds one of `roles` (managers and admins hold every rep right)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            held = user_roles(request.user)
            allowed = set(roles)
            if REP in allowed:
                allowed |= {MANAGER, ADMIN}
            if MANAGER in allowed:
                allowed.add(ADMIN)
            if not held & allowed:
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


rep_required = role_required(REP)
manager_required = role_required(MANAGER)


def reps() -> QuerySet:
    """Active users holding the rep role, by name: who a manager narrows a list to.

    Managers and admins hold every rep right but are not reps: they are listed only if they also hold the rep role.
    """
    return (
        get_user_model().objects.filter(groups__name=REP, is_active=True).order_by("first_name", "last_name", "email")
    )


def managers() -> QuerySet:
    """Active managers and admins (superusers included, as `user_roles` counts them): who is told of team matters."""
    return (
        get_user_model()
        .objects.filter(Q(groups__name__in=(MANAGER, ADMIN)) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("pk")
    )
