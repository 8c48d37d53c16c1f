"""Personal API tokens: made on /me/ and shown once, kept only as a sha256, revoked there, and honoured by the API."""

import datetime as dt
import hashlib
import re

import pytest
import time_machine
from django.test import Client

from salesdept.models import ApiToken
from tests.conftest import login

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'value="(sd_[A-Za-z0-9_-]{43})"')


def _create(client, **fields) -> str:
    response = client.post("/me/api-tokens/", {"name": "n8n", **fields})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    return TOKEN.search(response.content.decode()).group(1)


def test_it_shows_a_new_token_once_and_keeps_only_its_hash(client, alice):
    raw = _create(login(client, alice))
    token = ApiToken.objects.get(user=alice)
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(list(ApiToken.objects.values()))  # nowhere in the row
    page = client.get("/me/").content.decode()
    assert raw not in page  # never shown again
    assert "n8n" in page and token.prefix in page and raw.startswith(token.prefix)


def test_the_token_opens_the_api_as_its_owner(client, alice, pending):
    raw = _create(login(client, alice))
    response = Client().get("/api/v1/messages", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [pending.pk]
    assert ApiToken.objects.get(user=alice).last_used_at is not None


def test_it_refuses_a_revoked_token(client, alice):
    raw = _create(login(client, alice))
    token = ApiToken.objects.get(user=alice)
    assert client.post(f"/me/api-tokens/{token.pk}/revoke/").status_code == 302
    response = Client().get("/api/v1/leads", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401
    assert response.json()["code"] == "bad_token"
    assert token.prefix not in client.get("/me/").content.decode()  # gone from the list


def test_another_person_cannot_revoke_my_token(client, alice, dan):
    raw = _create(login(client, alice))
    token = ApiToken.objects.get(user=alice)
    assert login(Client(), dan).post(f"/me/api-tokens/{token.pk}/revoke/").status_code == 404
    assert Client().get("/api/v1/leads", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


def test_a_token_stops_working_after_its_last_day(client, alice):
    last_day = dt.date(2026, 11, 30)
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC), tick=False):
        raw = _create(login(client, alice), expires_on=last_day.isoformat())
    headers = {"Authorization": f"Bearer {raw}"}
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.UTC), tick=False):
        assert Client().get("/api/v1/leads", headers=headers).status_code == 200
    with time_machine.travel(dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC), tick=False):
        response = Client().get("/api/v1/leads", headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "bad_token"


def test_it_refuses_a_last_day_in_the_past(client, alice):
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC), tick=False):
        response = login(client, alice).post("/me/api-tokens/", {"name": "old", "expires_on": "2026-11-23"})
    assert response.status_code == 400
    assert "Choose today or a later day" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_it_asks_for_a_name(client, alice):
    response = login(client, alice).post("/me/api-tokens/", {"name": ""})
    assert response.status_code == 400
    assert "Name the token" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_read_only_token_reads_but_changes_nothing(client, alice, pending):
    raw = _create(login(client, alice), read_only="on")
    headers = {"Authorization": f"Bearer {raw}"}
    assert Client().get(f"/api/v1/messages/{pending.pk}", headers=headers).status_code == 200
    response = Client().post(
        f"/api/v1/messages/{pending.pk}/approve",
        {"revision": pending.revision},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_token"
    pending.refresh_from_db()
    assert pending.status == pending.Status.PENDING_APPROVAL


@pytest.mark.parametrize("header", ["Bearer sd_not-a-token", "Bearer nonsense", "Basic YWxpY2U6cHc="])
def test_it_answers_a_bad_token_with_a_json_401(header, alice):
    response = Client().get("/api/v1/leads", headers={"Authorization": header})
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"code", "message", "errors"}


def test_a_token_is_limited_per_token(client, alice, settings):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"api": ("API requests", 3, 60)}
    login(client, alice)
    first, second = _create(client), _create(client)
    answers = [Client().get("/api/v1/leads", headers={"Authorization": f"Bearer {first}"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["code"] == "rate_limited"
    assert int(answers[-1]["Retry-After"]) > 0
    # Another token of the same person has its own count.
    assert Client().get("/api/v1/leads", headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_a_person_without_a_role_gets_no_data(client, mallory):
    raw = _create(login(client, mallory))
    response = Client().get("/api/v1/leads", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 403 and response.json()["code"] == "no_role"


def test_a_browser_session_must_send_its_csrf_token_but_a_token_need_not(alice, pending):
    browser = login(Client(enforce_csrf_checks=True), alice)
    url = f"/api/v1/messages/{pending.pk}/approve"
    refused = browser.post(url, {"revision": pending.revision}, content_type="application/json")
    assert refused.status_code == 403
    pending.refresh_from_db()
    assert pending.status == pending.Status.PENDING_APPROVAL
    raw = _create(login(Client(), alice))
    script = Client(enforce_csrf_checks=True)
    done = script.post(
        url, {"revision": pending.revision}, content_type="application/json", headers={"Authorization": f"Bearer {raw}"}
    )
    assert done.status_code == 200 and done.json()["status"] == "approved"
