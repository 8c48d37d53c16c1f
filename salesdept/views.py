import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET

from salesdept.celery import app
from salesdept.models import Heartbeat
from salesdept.roles import has_any_role, is_manager


def home(request: HttpRequest) -> HttpResponse:
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
    age = timezone.now() - beat
    if age > dt.timedelta(seconds=settings.HEARTBEAT_MAX_AGE_SECONDS):
        raise RuntimeError(f"last heartbeat {int(age.total_seconds())} s ago")
    return "ok"


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {}
    for name, check in (("database", _check_database), ("broker", _check_broker), ("beat", _check_beat)):
        try:
            checks[name] = check()
        except Exception as exc:  # a health check reports every failure, it never raises
            checks[name] = f"error: {exc}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
