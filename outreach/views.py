from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from outreach.forms import InboxFilterForm
from outreach.selectors import inbox_for
from salesdept.roles import is_manager, rep_required
from salesdept.views_helpers import partial_or_page

INBOX = "outreach/inbox.html"
PAGE_SIZE = 50


@require_GET
@rep_required
def inbox(request: HttpRequest) -> HttpResponse:
    form = InboxFilterForm(request.GET, show_reps=is_manager(request.user))
    replies = inbox_for(request.user, **form.filters())
    page = Paginator(replies, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, partial_or_page(request, INBOX, "inbox-list"), {"form": form, "page": page})
