"""Requests no page can answer, refused before any view sees them."""

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse


class RefuseNulMiddleware:
    """A NUL character in the path or the query string is a 400.

    No name, token or filter of ours holds one, and PostgreSQL refuses it in a string: left alone it
    would reach a query as a 500 (`/u/%00/`, `?q=%00`). Forms refuse it in a body already
    (Django's CharField validator), so the body is not read here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any("\x00" in key + value for key, value in _query_items(request)):
            return refusal(request, 400, "bad_request", "The address holds a NUL character.")
        return self.get_response(request)


def refusal(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    """A refusal before any view: JSON for the API (its callers parse every answer), text for pages."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": message, "errors": []}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _query_items(request: HttpRequest) -> Iterator[tuple[str, str]]:
    for key, values in request.GET.lists():
        for value in values:
            yield key, value


class RequestSizeMiddleware:
    """A body larger than its URL allows is refused with a 413 from its Content-Length, unread.

    Django spools an upload to disk while it parses it, and the CSRF check parses every POST:
    without this, anyone holding the login page's csrftoken could make a worker write a gigabyte
    to /tmp before the import's own size check said no. Only a signed-in person's CSV upload may
    be large (the import's limit plus room for the form around it); every other body is held to
    Django's DATA_UPLOAD_MAX_MEMORY_SIZE. It sits right after the session middleware, before any
    middleware that reads a body.
    The proxy in front should refuse earlier still (README, deployment: client_max_body_size).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return refusal(request, 400, "bad_request", "The Content-Length header is not a number.")
        if length > self._limit(request):
            if request.path == reverse("leads:import_new"):  # the person sees this: say what to do
                from leads.imports import too_large_message

                return HttpResponse(too_large_message(), status=413, content_type="text/plain; charset=utf-8")
            return refusal(request, 413, "too_large", "The request body is too large.")
        return self.get_response(request)

    @staticmethod
    def _limit(request: HttpRequest) -> int:
        upload_room = 64 * 1024  # the multipart boundaries, the form's other fields
        if request.path == reverse("leads:import_new") and request.session.get(SESSION_KEY):
            return settings.CSV_IMPORT_MAX_BYTES + upload_room
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RequestMetricsMiddleware:
    """Each request's time, view and status for /metrics (salesdept/prometheus.py); never its path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from salesdept.prometheus import request_observe

        started = time.perf_counter()
        response = self.get_response(request)
        request_observe(request, response.status_code, time.perf_counter() - started)
        return response


REQUEST_ID_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
request_log = logging.getLogger("salesdept.request")


class RequestContextMiddleware:
    """A request id for every log line of the request (the proxy's X-Request-ID when it sends a sane one).

    The user id is added once authentication has run (process_view); one line per request says
    the view's name and status, never the path (an unsubscribe link's token is in it).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from salesdept.logcontext import REQUEST_ID, USER_ID, bound

        given = request.headers.get("X-Request-ID", "")
        request_id = given if REQUEST_ID_SHAPE.match(given) else uuid.uuid4().hex
        with bound(REQUEST_ID, request_id), bound(USER_ID, None):
            started = time.perf_counter()
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            took = (time.perf_counter() - started) * 1000
            view = match.view_name if match else "unmatched"
            request_log.info("%s %s %s %.0f ms", request.method, view, response.status_code, took)
        response["X-Request-ID"] = request_id
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        from salesdept.logcontext import USER_ID

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            USER_ID.set(user.pk)  # reset with the request's context in __call__
