"""Login rate limits: allauth's limits, counted in a cache every process shares."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from allauth.account import app_settings as account_settings
from django.core.cache import cache

from salesdept import settings as project_settings

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pass-for-tests-1"  # what tests/factories.py gives every user
REFUSED = "Too many failed login attempts. Try again later."
SHARED = ("django.core.cache.backends.filebased.FileBasedCache", "django.core.cache.backends.redis.RedisCache")


@pytest.fixture(autouse=True)
def _file_cache(settings, tmp_path):
    """The embedded setup's file cache (this folder's conftest swaps in LocMem for its other tests)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": tmp_path / "cache"}
    }
    cache.clear()
    yield
    cache.clear()


def sign_in(client, email: str, password: str):
    return client.post("/accounts/login/", {"login": email, "password": password})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_failed_logins_are_limited_per_address_and_per_ip():
    limits = account_settings.RATE_LIMITS
    assert limits["login_failed"] == "10/m/ip,5/300s/key"
    assert limits["login"] == "30/m/ip"


def test_after_five_failures_even_the_right_password_is_refused(client, settings, tmp_path, bob, alice):
    for _ in range(5):
        response = sign_in(client, bob.email, "wrong-password")
        assert response.status_code == 200 and not signed_in(client)
        assert REFUSED not in response.text

    # The count lives in the cache's files, not in this process: a fresh cache on the same folder
    # (what another web process opens) still refuses.
    assert any((tmp_path / "cache").iterdir())
    settings.CACHES = {"default": {**settings.CACHES["default"]}}
    response = sign_in(client, bob.email, PASSWORD)
    assert response.status_code == 200
    assert REFUSED in response.text
    assert not signed_in(client)

    # Another address from the same IP still signs in.
    response = sign_in(client, alice.email, PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_a_successful_login_does_not_use_up_the_allowance(client, bob):
    for _ in range(4):
        sign_in(client, bob.email, "wrong-password")
    response = sign_in(client, bob.email, PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_the_configured_cache_is_shared_by_every_process():
    """LocMemCache counts per process and DummyCache counts nothing: the limits need a file cache or Redis."""
    assert project_settings.CACHES["default"]["BACKEND"] in SHARED
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ENV_FILE": "/nonexistent/.env",
        "DEBUG": "true",
        "REDIS_URL": "redis://127.0.0.1:6379/1",
    }
    code = "from salesdept import settings as s; import json; print(json.dumps(s.CACHES['default']['BACKEND']))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == "django.core.cache.backends.redis.RedisCache"
