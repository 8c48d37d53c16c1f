"""The cast: alice and dan are reps, bob a manager, carol an admin, mallory has no role.

Every test starts at one named instant (DEFAULT_CLOCK, or `--clock`), the clock ticking on
from there: no test depends on the day it runs. A test about the passage of time moves the
clock itself with the `time_machine` fixture. `make test-dates` runs the suite at instants
chosen to break date code (daylight saving changes, new year, a leap day, a Sunday night).
"""

import datetime as dt
import os
import shutil
import sys

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache

from outreach.models import OutreachMessage
from salesdept import teamconfig
from salesdept.roles import ADMIN, MANAGER, REP
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory, UserFactory
from tests.fakes.openai_server import FakeOpenAI, fake_openai_fixture  # noqa: F401 (the fake_openai fixture)

# CI sets this: a test that would skip for want of PostgreSQL, Redis or Chromium fails instead.
REQUIRE_ALL = os.environ.get("SALESDEPT_REQUIRE_ALL") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


# A Tuesday morning in late November: working hours in Europe, before the end-of-year holidays.
DEFAULT_CLOCK = "2026-11-24T10:00:00+00:00"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        default=os.environ.get("SALESDEPT_TEST_CLOCK") or DEFAULT_CLOCK,
        help="The instant (ISO 8601) every test starts at, the clock ticking on (default %(default)s).",
    )


def session_instant(config: pytest.Config) -> dt.datetime:
    instant = dt.datetime.fromisoformat(config.getoption("--clock").replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise pytest.UsageError("--clock needs a timezone, e.g. 2027-03-28T01:30:00Z")
    return instant


def pytest_configure(config: pytest.Config) -> None:
    # Session setup (databases, servers started once) happens at the instant too.
    config._salesdept_travel = time_machine.travel(session_instant(config), tick=True)
    config._salesdept_travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if travel := getattr(config, "_salesdept_travel", None):
        travel.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return f"clock: every test starts at {session_instant(config).isoformat()}"


@pytest.fixture(autouse=True)
def _clock(pytestconfig):
    """Each test starts at the session's instant, whatever ran before it and for how long."""
    with time_machine.travel(session_instant(pytestconfig), tick=True):
        yield


def travelling(command: list[str]) -> list[str]:
    """A `python -m module ...` command run at this process's current instant (see tests/travel.py)."""
    assert command[:2] == [sys.executable, "-m"], command
    return [sys.executable, "-m", "tests.travel", dt.datetime.now(dt.UTC).isoformat(), *command[2:]]


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_runtest_setup(item: pytest.Item) -> None:
    missing = []
    if item.get_closest_marker("postgres") and not on_postgres():
        missing.append("needs PostgreSQL: set DATABASE_URL=postgres://...")
    if item.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
        missing.append("needs Redis: set REDIS_URL=redis://...")
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
    """Each test gets an empty cache (login rate limits) and its own sandbox outbox.

    Every test starts with an empty database, so with nothing saved on /settings/: the model server
    and Unipile come from the environment (settings), also for tests that never touch the database.
    """
    cache.clear()
    teamconfig.forget(nothing_saved=True)
    settings.SANDBOX_OUTBOX = tmp_path / "outbox.jsonl"
    yield
    cache.clear()


@pytest.fixture
def eager():
    """Queued tasks run in-process (when their transaction commits), as a worker would run them.

    The Celery app's own setting: Django's is read once, when the app is first configured.
    """
    from salesdept.celery import app

    before, app.conf.task_always_eager = app.conf.task_always_eager, True
    yield
    app.conf.task_always_eager = before


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
    client.reset()
    yield fake_openai
    client.reset()
