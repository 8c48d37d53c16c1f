"""Requests no page can answer, refused before any view sees them."""

from collections.abc import Callable, Iterator

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


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
            return HttpResponseBadRequest("The address holds a NUL character.")
        return self.get_response(request)


def _query_items(request: HttpRequest) -> Iterator[tuple[str, str]]:
    for key, values in request.GET.lists():
        for value in values:
            yield key, value
