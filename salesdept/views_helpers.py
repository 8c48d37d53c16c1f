from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from salesdept.ratelimit import RateLimited, rate_limit_take


def partial_or_page(request: HttpRequest, template: str, partial: str) -> str:
    """The whole page, or just `partial` for an htmx request that is not a boost or history restore."""
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        return f"{template}#{partial}"
    return template


MAX_ID = 2**63 - 1  # PostgreSQL's bigint: a larger number in a query would be a 500, not "no such row"


def id_param(value: str) -> int | None:
    """A row id from user input, or None. `str.isdigit` accepts "²" and "١", which `int()` refuses or reads."""
    if value.isascii() and value.isdigit() and int(value) <= MAX_ID:
        return int(value)
    return None


def rate_limited(action: str) -> Callable:
    """A view that counts against the person's limit for `action` (salesdept/ratelimit.py); over it, a 429 page.

    For reads (exports). A write's service takes its own count, so every way in (a page, a task, the API) is held.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                rate_limit_take(user=request.user, action=action)
            except RateLimited as exc:
                response = render(request, "429.html", {"message": str(exc)}, status=429)
                response["Retry-After"] = str(exc.retry_after)
                return response
            return view(request, *args, **kwargs)

        return limited

    return decorate


def form_errors_text(form) -> str:
    """A form's errors as one line, for a message on the page a plain POST goes back to."""
    return " ".join(error for errors in form.errors.values() for error in errors)
