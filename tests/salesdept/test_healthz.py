import datetime as dt

import pytest
from django.utils import timezone

from salesdept.models import Heartbeat

pytestmark = pytest.mark.django_db


def test_it_is_ok_with_a_fresh_heartbeat(client):
    Heartbeat.objects.create(name="beat", beat_at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "beat": "ok"}}


def test_it_fails_without_any_heartbeat(client, caplog):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == "error"
    assert "no heartbeat yet" in caplog.text  # the reason is for the operator's log


def test_it_fails_with_a_stale_heartbeat(client, caplog):
    Heartbeat.objects.create(name="beat", beat_at=timezone.now() - dt.timedelta(minutes=10))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == "error"
    assert "last heartbeat 6" in caplog.text


def test_it_fails_when_the_broker_is_down(client, monkeypatch, caplog):
    from salesdept.celery import app

    Heartbeat.objects.create(name="beat", beat_at=timezone.now())
    down = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    old = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", down)  # Celery reads the variable before its config
    app.conf.broker_url = down
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "ok", "broker": "error", "beat": "ok"}}
    # Anyone may read /healthz: the broker's address and the error text stay in the log.
    assert "127.0.0.1:1" not in response.content.decode()
    assert "health check broker failed" in caplog.text


def test_it_names_no_database_detail_when_the_database_fails(client, monkeypatch, caplog):
    from salesdept import views

    Heartbeat.objects.create(name="beat", beat_at=timezone.now())

    def refused():
        raise OSError('connection to server at "db.internal" (10.0.0.5), port 5432 failed: role "sales_prod"')

    monkeypatch.setattr(views, "_check_database", refused)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "error"
    for secret in ("db.internal", "10.0.0.5", "5432", "sales_prod"):
        assert secret not in response.content.decode()
    assert "sales_prod" in caplog.text


def test_the_heartbeat_task_writes_the_time():
    from salesdept.tasks import heartbeat_task

    heartbeat_task.apply()
    assert timezone.now() - Heartbeat.objects.get(name="beat").beat_at < dt.timedelta(seconds=5)
