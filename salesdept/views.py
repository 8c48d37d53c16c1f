import datetime as dt
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from outreach.views import mailbox_context
from presence.views import posting_context
from reporting.forms import ReportTimeForm
from reporting.recipients import report_next_at, report_recipient_set, report_settings_of
from salesdept import clock, teamconfig
from salesdept.celery import app
from salesdept.checklist import checklist, checklist_done
from salesdept.forms import ModelServerForm, UnipileForm
from salesdept.models import Heartbeat, Notification
from salesdept.notifications import notifications_mark_read
from salesdept.roles import ADMIN, has_any_role, is_manager, manager_required, role_required, user_roles
from salesdept.services import model_server_apply, unipile_apply
from salesdept.signatures import SignatureForm, signature_of, signature_set
from salesdept.views_helpers import id_param, partial_or_page

log = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    if ADMIN in user_roles(request.user) and not checklist_done():
        return redirect("getting_started")  # an empty install opens on what is left to set up
    if is_manager(request.user):
        return redirect("reporting:dashboard")
    if has_any_role(request.user):
        return redirect("approvals:queue")
    raise PermissionDenied("Your account has no role yet. Ask an admin to add you to a team.")


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_broker() -> str:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_beat() -> str:
    beat = Heartbeat.objects.filter(name="beat").values_list("beat_at", flat=True).first()
    if beat is None:
        raise RuntimeError("no heartbeat yet: is a worker with beat running?")
    age = clock.now() - beat
    if age > dt.timedelta(seconds=settings.HEARTBEAT_MAX_AGE_SECONDS):
        raise RuntimeError(f"last heartbeat {int(age.total_seconds())} s ago")
    return "ok"


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """ok or error per component, for anyone: the reason goes to the log, never to the page (it names hosts)."""
    checks = {}
    for name, check in (("database", _check_database), ("broker", _check_broker), ("beat", _check_beat)):
        try:
            checks[name] = check()
        except Exception:  # a health check reports every failure, it never raises
            log.exception("health check %s failed", name)
            checks[name] = "error"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


NOTIFICATIONS = "salesdept/notifications.html"
NOTIFICATIONS_PAGE = 50  # the newest; older ones page by id


@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first. A POST marks them all read."""
    if request.method == "POST":
        notifications_mark_read(user=request.user)
        if not request.htmx:
            messages.success(request, "All notifications marked read.")
            return redirect("notifications")
    before = request.GET.get("before", "")
    rows = Notification.objects.filter(user=request.user).order_by("-pk")
    if (before_id := id_param(before)) is not None:
        rows = rows.filter(pk__lt=before_id)
    items = list(rows[: NOTIFICATIONS_PAGE + 1])
    items, more = items[:NOTIFICATIONS_PAGE], len(items) > NOTIFICATIONS_PAGE
    context = {"items": items, "older": items[-1].pk if more else None, "before": before}
    if request.method == "POST":  # htmx: the list, and the navigation badge out of band
        return render(request, f"{NOTIFICATIONS}#notification-list", context | {"oob": True, "nav_unread_count": 0})
    return render(request, partial_or_page(request, NOTIFICATIONS, "notification-list"), context)


def _local_url(url: str) -> str | None:
    """The url when it stays on this site (a path), else None: a notification is no open redirect."""
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return url
    return None


@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    notifications_mark_read(user=request.user, ids=[notification.pk])
    return redirect(_local_url(notification.url) or "notifications")


GETTING_STARTED = "salesdept/getting_started.html"


@require_GET
@role_required(ADMIN)
def getting_started(request: HttpRequest) -> HttpResponse:
    """The first admin's checklist: each item links to its page and ticks itself when done."""
    items = checklist()
    return render(request, GETTING_STARTED, {"items": items, "all_done": all(item.done for item in items)})


PROFILE = "salesdept/profile.html"


def profile(request: HttpRequest) -> HttpResponse:
    """A person's own page: the accounts they send from and how they work. Each section is its own template."""
    return render(request, PROFILE, _profile_context(request))


def _profile_context(request: HttpRequest, **forms) -> dict:
    """Every section of /me/; `forms` are the voice section's forms again, with their errors."""
    from outreach.selectors import linkedin_section_for
    from salesdept.token_views import api_tokens_context

    return {
        "accounts": request.user.sending_accounts.filter(is_active=True).order_by("channel", "name"),
        **linkedin_section_for(request.user, link_id=request.GET.get("linkedin", "")),
        **mailbox_context(request.user),
        **_voice_context(request.user, **forms),
        **posting_context(request.user),
        **api_tokens_context(request.user),
    }


def _voice_context(user, *, signature_form: SignatureForm | None = None, report_form=None) -> dict:
    """The profile's voice section: the signature for everyone, the daily report's time for managers."""
    context = {"signature_form": signature_form or SignatureForm(initial={"text": signature_of(user)})}
    if is_manager(user):
        recipient = report_settings_of(user)
        initial = {"timezone": recipient.timezone, "send_at": recipient.send_at, "enabled": recipient.enabled}
        context["report_form"] = report_form or ReportTimeForm(initial=initial)
        context["report_next"] = _next_report_text(recipient)
    return context


def _next_report_text(recipient) -> str:
    """When the next report goes, on the manager's own clock: the page and the confirmation say the same."""
    next_at = report_next_at(recipient, now=clock.now())
    return f"{next_at:%a %d %b at %H:%M} ({recipient.timezone})" if next_at else ""


@require_POST
def profile_signature(request: HttpRequest) -> HttpResponse:
    form = SignatureForm(request.POST)
    if not form.is_valid():
        return render(request, PROFILE, _profile_context(request, signature_form=form), status=400)
    signature_set(user=request.user, text=form.cleaned_data["text"])
    messages.success(request, "Signature saved: your next drafts sign off with it.")
    return redirect("profile")


@require_POST
@manager_required
def profile_report_time(request: HttpRequest) -> HttpResponse:
    form = ReportTimeForm(request.POST)
    if not form.is_valid():
        return render(request, PROFILE, _profile_context(request, report_form=form), status=400)
    recipient = report_recipient_set(user=request.user, **form.cleaned_data)
    when = _next_report_text(recipient)
    messages.success(request, f"Daily report time saved: {f'the next one goes {when}' if when else 'switched off'}.")
    return redirect("profile")


TEAM_SETTINGS = "salesdept/team_settings.html"


@manager_required
def team_settings(request: HttpRequest) -> HttpResponse:
    """What a manager configures for the whole team without a developer. Each section is its own template."""
    return render(request, TEAM_SETTINGS, _team_settings_context())


@login_not_required
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus's scrape: with the token or from an allowed network, else 403 (it names no one, but shows volumes)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from salesdept.prometheus import metrics_text, scrape_allowed

    if not scrape_allowed(request):
        return HttpResponse("Needs METRICS_TOKEN or an allowed network.\n", status=403, content_type="text/plain")
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)


def _team_settings_context(**sections) -> dict:
    """Each section's forms and state; `sections` replaces one after a POST (its form with errors, a check)."""
    row = teamconfig.saved()
    return {
        "model_form": ModelServerForm(saved=row),
        "model_key": teamconfig.key_source(row.llm_api_key, teamconfig.llm_config().api_key),
        "unipile_form": UnipileForm(saved=row),
        "unipile_key": teamconfig.key_source(row.unipile_api_key, teamconfig.unipile_config().api_key),
        **sections,
    }


def _section(request: HttpRequest, partial: str, template: str, **section) -> HttpResponse:
    """The section alone for htmx, else the whole settings page around it (form errors: 200, htmx swaps it)."""
    if request.htmx and not request.htmx.boosted:
        return render(request, f"{template}#{partial}", _team_settings_context(**section))
    return render(request, TEAM_SETTINGS, _team_settings_context(**section))


def _settings_apply(request: HttpRequest, form_class, apply, name: str) -> HttpResponse:
    """One settings section's POST: test the form's values, or test and save them (a failed call stores nothing)."""
    form = form_class(request.POST, saved=teamconfig.saved())
    partial, template = f"settings-{name}", f"salesdept/settings_{name}.html"
    if not form.is_valid():
        return _section(request, partial, template, **{f"{name}_form": form})
    save = form.cleaned_data["action"] == "save"
    check = apply(actor=request.user, values=form.values(), save=save)
    if save and check.ok and not request.htmx:
        messages.success(request, check.message)
        return redirect(f"{reverse('team_settings')}#{partial}")
    return _section(request, partial, template, **{f"{name}_form": form, f"{name}_check": check})


@sensitive_post_parameters("api_key")
@require_POST
@manager_required
def settings_model(request: HttpRequest) -> HttpResponse:
    """The model server: key, base URL, models, budget."""
    return _settings_apply(request, ModelServerForm, model_server_apply, "model")


@sensitive_post_parameters("unipile_key")
@require_POST
@manager_required
def settings_unipile(request: HttpRequest) -> HttpResponse:
    """Unipile: DSN and key."""
    return _settings_apply(request, UnipileForm, unipile_apply, "unipile")
