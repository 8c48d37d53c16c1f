from django.http import HttpRequest


def partial_or_page(request: HttpRequest, template: str, partial: str) -> str:
    """The whole page, or just `partial` for an htmx request that is not a boost or history restore."""
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        return f"{template}#{partial}"
    return template
