"""The daily reports' archive: a manager's reports, one report as it was emailed, and "Send again"."""

from csp.decorators import csp
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from reporting.reports import report_get_for_user, report_send, report_subject, reports_visible_to
from salesdept.roles import ADMIN, manager_required, user_roles

PAGE_SIZE = 50


@require_GET
@manager_required
def report_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(reports_visible_to(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "reporting/report_list.html", {"page": page, "show_recipient": ADMIN in user_roles(request.user)}
    )


@require_GET
@manager_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_get_for_user(request.user, pk)
    context = {"report": report, "subject": report_subject(report), "frame_height": _frame_height(report)}
    return render(request, "reporting/report_detail.html", context)


# The stored email as its own document, for the archive page's frame. It needs its inline styles (it
# is an email), and a srcdoc frame would inherit the page's policy, which forbids them: so it gets a
# policy of its own that allows inline styles and nothing else (no scripts, no fetches, no forms),
# sandboxed whether it is framed or opened directly, and framable by this site only.
EMAIL_POLICY = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["data:"],
    "frame-ancestors": ["'self'"],
    "form-action": ["'none'"],
    "base-uri": ["'none'"],
    "sandbox": ["allow-popups", "allow-popups-to-escape-sandbox"],
}


@require_GET
@manager_required
@never_cache
@xframe_options_sameorigin
@csp(EMAIL_POLICY)
def report_email(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_get_for_user(request.user, pk)
    return HttpResponse(report.html, content_type="text/html; charset=utf-8")


def _frame_height(report) -> int:
    """The email's height in pixels, about: a sandboxed frame cannot size itself to its content."""
    metrics = report.metrics or {}
    rows = len(metrics.get("campaigns", [])) + len(metrics.get("accounts", {}).get("attention", []))
    return 1150 + 50 * rows


@require_POST
@manager_required
def report_resend(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_get_for_user(request.user, pk)
    if report_send(report_id=report.pk, force=True, actor=request.user):
        messages.success(request, f"Sent again to {report.recipient.email}.")
    else:
        report.refresh_from_db(fields=["status", "failure"])
        reason = report.failure or "it is being sent right now; if it stays so, try again in 15 minutes"
        messages.error(request, f"Not sent: {reason}.")
    return redirect("reports:detail", pk=report.pk)
