"""Integration helpers: role groups after a flush, polling with a deadline, a real Celery worker.

Tests here run with `django_db(transaction=True)`: their rows are committed, so other
threads, a worker process and beat see them. The price is a flush after every test, which
also removes the role groups made by a data migration; `_roles` puts them back.
"""

import importlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connection

T = TypeVar("T")
ROLES_MIGRATION = importlib.import_module("salesdept.migrations.0002_roles")
WORKER_READY_SECONDS = 45


def _permissions(pairs: list[tuple[str, str]]) -> list[Permission]:
    wanted = set(pairs)
    found = Permission.objects.filter(
        content_type__app_label__in={app for app, _ in pairs}, codename__in={code for _, code in pairs}
    ).select_related("content_type")
    return [p for p in found if (p.content_type.app_label, p.codename) in wanted]


@pytest.fixture(autouse=True)
def _roles(request) -> None:
    """The groups the roles migration makes; a previous transactional test's flush deleted them."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return  # inside a rolled-back test the migration's groups are still there
    request.getfixturevalue("transactional_db")
    Group.objects.get_or_create(name="Sales rep")[0].permissions.set(_permissions(ROLES_MIGRATION.REP_PERMISSIONS))
    Group.objects.get_or_create(name="Manager")[0].permissions.set(_permissions(ROLES_MIGRATION.MANAGER_PERMISSIONS))
    Group.objects.get_or_create(name="Admin")[0].permissions.set(
        Permission.objects.filter(content_type__app_label__in=ROLES_MIGRATION.ADMIN_APPS)
    )


def wait_for(what: str, probe: Callable[[], T], *, timeout: float = 60.0, every: float = 0.25) -> T:
    """Call `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what} (last probe: {result!r})")
        time.sleep(every)


def test_database_url() -> str:
    """The pytest-django test database (NAME is already the test name) as a DATABASE_URL."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    query = f"?{urlencode(db['OPTIONS'])}" if db.get("OPTIONS") else ""
    return f"postgres://{credentials}{db['HOST']}{port}/{quote(db['NAME'], safe='')}{query}"


test_database_url.__test__ = False  # a helper, not a test


class Worker:
    """A `celery worker --beat` process started for one test, with its log file."""

    def __init__(self, process: subprocess.Popen, log: Path, hostname: str) -> None:
        self.process = process
        self.log = log
        self.hostname = hostname

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def assert_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"The Celery worker exited with {self.process.returncode}:\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM to the worker's own process group (worker, pool children, beat), then SIGKILL."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        try:  # pool children or beat left behind after the parent exited
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def worker_environment(*, outbox: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        DJANGO_SETTINGS_MODULE="salesdept.settings",
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        # The filesystem broker's folders live under VAR_DIR: the same absolute folder as ours.
        VAR_DIR=str(settings.VAR_DIR),
        SECRET_KEY=settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
        DEBUG="false",
        OPENAI_API_KEY="",  # the offline template backend: no network
        SANDBOX_REPLY_RATE="1.0",
        SANDBOX_REPLY_DELAY_SECONDS="0",
        SANDBOX_OUTBOX=str(outbox),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def celery_worker_process(transactional_db, settings, tmp_path) -> Iterator[Callable[[], Worker]]:
    """A real `celery -A salesdept worker --beat` on the test database and the test broker.

    Start it after the rows beat needs are committed (see `start`); it is always stopped,
    and its log tail is printed on teardown (pytest shows it when the test fails).
    """
    from salesdept.celery import app

    started: list[Worker] = []

    def start() -> Worker:
        outbox = tmp_path / "outbox.jsonl"
        settings.SANDBOX_OUTBOX = outbox  # the test reads what the worker's channel wrote
        app.control.purge()  # leftovers from other tests must not run against this database
        hostname = f"integration-{uuid.uuid4().hex[:8]}@%h"
        log = tmp_path / "worker.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "salesdept",
            "worker",
            "--beat",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "--hostname",
            hostname,
            # No chatter with other workers that may share the broker.
            "--without-mingle",
            "--without-gossip",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=worker_environment(outbox=outbox),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches beat and the pool
            )
        worker = Worker(process, log, hostname)
        started.append(worker)

        def ready() -> bool:
            worker.assert_alive()
            return " ready." in worker.log_text()

        wait_for("the Celery worker to be ready", ready, timeout=WORKER_READY_SECONDS)
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"--- Celery worker log tail ({worker.log}) ---\n{worker.tail()}")
