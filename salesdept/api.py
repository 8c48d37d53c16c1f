"""The REST API under /api/v1/: one NinjaAPI, one router per app (`<app>/api.py`).

Why django-ninja: its operations are typed functions with pydantic schemas in and out, like the
rest of the project (salesdept/llm/schemas.py), and it writes the OpenAPI schema from those same
types, so the documentation cannot drift from the code.

Every endpoint calls the selectors and services the pages call: the role rules live there once.
A request carries a personal token (`Authorization: Bearer sd_…`, no CSRF: nothing a browser sends
by itself) or the browser's session (CSRF checked, as for any form).
"""

from collections.abc import Callable
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth
from pydantic import ConfigDict

from salesdept.apitokens import api_token_authenticate
from salesdept.ratelimit import rate_limit_take
from salesdept.roles import has_any_role, is_manager

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PARAMETER_NAMES = ("payload", "filters", "query")  # the operations' schema arguments, not fields a caller sent


class ApiError(Exception):
    """An answer other than success: `code` is stable for scripts, `message` is for a person."""

    def __init__(self, status: int, code: str, message: str, *, errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or []


class RateLimitedError(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(429, "rate_limited", message)


class In(Schema):
    """A request body: a field the schema does not name is refused, not silently dropped (a typo is an error)."""

    model_config = ConfigDict(extra="forbid")


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    code: str
    message: str
    errors: list[FieldError] = []


ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 429)


def one_of(values, blank: bool = True):
    """A Literal of a model's choices (and "" for "any"): one clear error for a wrong value, listed in the schema."""
    return Literal[("", *values) if blank else tuple(values)]


def answers(**ok) -> dict:
    """An operation's responses: its own success, and the JSON error every endpoint may give."""
    return {int(status.removeprefix("s")): schema for status, schema in ok.items()} | dict.fromkeys(
        ERROR_STATUSES, ErrorOut
    )


def _with_role(request: HttpRequest, user):
    if not has_any_role(user):
        raise ApiError(403, "no_role", "Your account has no role yet: ask a manager to give you one.")
    return user


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        found = api_token_authenticate(token)
        if found is None:
            raise ApiError(401, "bad_token", "This token is unknown, revoked or expired.")
        if found.read_only and request.method not in SAFE_METHODS:
            raise ApiError(403, "read_only_token", "This token is read-only: it cannot change anything.")
        # Counted per token (its own pk in the key), so one runaway script does not lock its owner's other tools.
        rate_limit_take(user=found, action="api", error=RateLimitedError)
        request.user = found.user
        return _with_role(request, found.user)


class BrowserSession(SessionAuth):
    """The logged-in browser (the docs page, a person trying a call): CSRF is checked as for any form."""

    def authenticate(self, request: HttpRequest, key: str | None):
        user = super().authenticate(request, key)
        return _with_role(request, user) if user else None


api = NinjaAPI(
    title="Sales Department API",
    version="1",
    description="Leads, campaigns, the approval queue, replies and the dashboard's numbers, with the pages' rules.",
    urls_namespace="api",
    openapi_url="/schema",
    docs_url=None,  # our own page: Swagger UI would load scripts from a CDN, which the CSP and no-internet refuse
    auth=[TokenAuth(), BrowserSession()],
)


def _error(request: HttpRequest, status: int, code: str, message: str, errors: list | None = None) -> HttpResponse:
    response = api.create_response(request, {"code": code, "message": message, "errors": errors or []}, status=status)
    return response


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = _error(request, exc.status, exc.code, exc.message, exc.errors)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _field(location: list) -> str:
    """The field a pydantic error is about: ("query", "filters", "status", …) -> "status"."""
    parts = [str(part) for part in location[1:] if part not in PARAMETER_NAMES]
    return parts[0] if parts else str(location[0])


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"field": _field(list(error.get("loc", ["body"]))), "message": error.get("msg", "")} for error in exc.errors
    ]
    summary = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
    return _error(request, 400, "invalid", f"The request is not valid ({summary}). Nothing was changed.", errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", "Send a personal API token: Authorization: Bearer sd_…")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja's own refusals: a body that is not JSON (400) and the like
    code = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(
        exc.status_code, "error"
    )
    return _error(request, exc.status_code, code, str(exc.message))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "There is no such record, or it is not yours to see.")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", str(exc) or "Your role does not allow this.")


def manager_only(request: HttpRequest) -> None:
    """What the manager pages refuse a rep (campaigns, the dashboard), the API refuses too."""
    if not is_manager(request.user):
        raise ApiError(403, "forbidden", "Your role does not give access to this: it is a manager's.")


def _mount() -> None:
    from campaigns.api import router as campaigns
    from deals.api import router as deals
    from leads.api import router as leads
    from outreach.api import router as outreach
    from reporting.api import router as reporting

    api.add_router("/campaigns", campaigns, tags=["campaigns"])
    api.add_router("/leads", leads, tags=["leads"])
    api.add_router("/deals", deals, tags=["deals"])
    api.add_router("/", outreach, tags=["messages and replies"])
    api.add_router("/stats", reporting, tags=["stats"])


def _open(view: Callable) -> Callable:
    """API views answer 401 in JSON themselves: the login redirect is for pages."""
    view.login_required = False
    return view


def docs(request: HttpRequest) -> HttpResponse:
    """The API's documentation, written from the same schema /api/v1/schema serves."""
    schema = api.get_openapi_schema()
    operations = [
        {"method": method.upper(), "path": route, **operation}
        for route, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    return render(request, "salesdept/api_docs.html", {"operations": operations, "schema": schema})


def urlpatterns() -> list[URLPattern | URLResolver]:
    patterns, _app, _namespace = api.urls
    # ninja's root raises a bare 404 without a docs_url: ours sends a person to the docs page.
    patterns = [pattern for pattern in patterns if pattern.name != "api-root"]
    for pattern in patterns:
        _open(pattern.callback)
    root = RedirectView.as_view(pattern_name="api:docs")
    return [
        *patterns,
        path("docs", _open(docs), name="docs"),
        path("", _open(root), name="api-root"),
        re_path(r"^.+$", _open(no_such_url), name="not_found"),  # last: /leads/-1, /leads/x, /nothing
    ]


@csrf_exempt  # it changes nothing: a POST to a wrong URL hears "no such URL", not a CSRF page
def no_such_url(request: HttpRequest, **_kwargs) -> HttpResponse:
    """A URL under /api/v1/ that names nothing answers in JSON too, not with the site's HTML page."""
    return JsonResponse({"code": "not_found", "message": "There is no such URL in this API.", "errors": []}, status=404)


def checked(form):
    """The page's own form decides what is valid: a 400 with its errors, field by field, when not."""
    if not form.is_valid():
        errors = [
            {"field": field, "message": message} for field, messages in form.errors.items() for message in messages
        ]
        summary = " ".join(error["message"] for error in errors)
        raise ApiError(400, "invalid", f"{summary} Nothing was changed.", errors=errors)
    return form.cleaned_data


_mount()  # last: the routers import the helpers above
