"""The cast: alice and dan are reps, bob a manager, carol an admin, mallory has no role."""

import os
import shutil

import pytest
from django.conf import settings
from django.core.cache import cache

from outreach.models import OutreachMessage
from salesdept.roles import ADMIN, MANAGER, REP
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory, UserFactory
from tests.fakes.openai_server import FakeOpenAI, fake_openai_fixture  # noqa: F401 (the fake_openai fixture)

# CI sets this: a test that would skip for want of PostgreSQL or Chromium fails instead.
REQUIRE_ALL = os.environ.get("SALESDEPT_REQUIRE_ALL") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_runtest_setup(item: pytest.Item) -> None:
    missing = []
    if item.get_closest_marker("postgres") and not on_postgres():
        missing.append("needs PostgreSQL: set DATABASE_URL=postgres://...")
    if item.get_closest_marker("chromium") and not os.path.exists(CHROMIUM):
        missing.append(f"needs Chromium at {CHROMIUM}: apt-get install chromium")
    if missing:
        (pytest.fail if REQUIRE_ALL else pytest.skip)("; ".join(missing))


@pytest.fixture(scope="session", autouse=True)
def _empty_broker():
    """Tasks published by earlier runs must not reach a worker a test starts."""
    from salesdept.celery import app

    app.control.purge()


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Each test gets an empty cache (login rate limits) and its own sandbox outbox."""
    cache.clear()
    settings.SANDBOX_OUTBOX = tmp_path / "outbox.jsonl"
    yield
    cache.clear()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice@example.com", first_name="Alice", last_name="Rivera", role=REP)


@pytest.fixture
def dan(db):
    return UserFactory(username="dan@example.com", first_name="Dan", role=REP)


@pytest.fixture
def bob(db):
    return UserFactory(username="bob@example.com", first_name="Bob", role=MANAGER)


@pytest.fixture
def carol(db):
    user = UserFactory(username="carol@example.com", first_name="Carol", role=ADMIN)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def mallory(db):
    return UserFactory(username="mallory@example.com", first_name="Mallory")


@pytest.fixture
def alice_account(alice):
    return SendingAccountFactory(owner=alice, name="Alice sandbox")


@pytest.fixture
def dan_account(dan):
    return SendingAccountFactory(owner=dan, name="Dan sandbox")


@pytest.fixture
def campaign(bob, alice_account, dan_account):
    return CampaignFactory(owner=bob, accounts=[alice_account, dan_account])


@pytest.fixture
def pending(campaign, alice, alice_account) -> OutreachMessage:
    """A draft waiting for alice's approval."""
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena")
    return MessageFactory(lead=lead, campaign=campaign, account=alice_account)


@pytest.fixture
def dans_pending(campaign, dan, dan_account) -> OutreachMessage:
    lead = LeadFactory(campaign=campaign, owner=dan, first_name="Omar")
    return MessageFactory(lead=lead, campaign=campaign, account=dan_account)


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def llm(fake_openai: FakeOpenAI, settings) -> FakeOpenAI:
    """The real openai client pointed at a local fake server: a model is configured."""
    from salesdept.llm import client

    settings.OPENAI_API_KEY = "test-key"
    settings.LLM_BASE_URL = fake_openai.base_url
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TIMEOUT_SECONDS = 5.0
    client.openai_client.cache_clear()
    client._modes.clear()
    yield fake_openai
    client.openai_client.cache_clear()
    client._modes.clear()
