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


def test_it_fails_without_any_heartbeat(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "no heartbeat yet" in response.json()["checks"]["beat"]


def test_it_fails_with_a_stale_heartbeat(client, settings):
    Heartbeat.objects.create(name="beat", beat_at=timezone.now() - dt.timedelta(minutes=10))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"].startswith("error: last heartbeat 6")


def test_it_fails_when_the_broker_is_down(client, monkeypatch):
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
    assert response.json()["checks"]["broker"].startswith("error")


def test_the_heartbeat_task_writes_the_time():
    from salesdept.tasks import heartbeat_task

    heartbeat_task.apply()
    assert timezone.now() - Heartbeat.objects.get(name="beat").beat_at < dt.timedelta(seconds=5)
