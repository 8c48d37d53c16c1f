from django.http import HttpRequest


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
