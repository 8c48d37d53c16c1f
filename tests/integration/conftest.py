"""Integration helpers: role groups after a flush, polling with a deadline, a real Celery worker.

Tests here run with `django_db(transaction=True)`: their rows are committed, so other
threads, a worker process and beat see them. The price is a flush after every test, which
also removes the role groups made by a data migration; the root conftest puts them back.
"""

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
from django.db import connection

from tests.conftest import travelling

T = TypeVar("T")
WORKER_READY_SECONDS = 45


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


def database_url_for_worker() -> str:
    """The pytest-django test database (NAME is already the test name) as a DATABASE_URL."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    query = f"?{urlencode(db['OPTIONS'])}" if db.get("OPTIONS") else ""
    return f"postgres://{credentials}{db['HOST']}{port}/{quote(db['NAME'], safe='')}{query}"


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
        """SIGTERM (warm shutdown: the worker stops its pool and beat), then SIGKILL its process group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        try:  # a pool child or beat left behind by a parent that died
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def worker_environment(*, outbox: Path, var_dir: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        DJANGO_SETTINGS_MODULE="salesdept.settings",
        DATABASE_URL=database_url_for_worker(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        VAR_DIR=str(var_dir),  # where a filesystem broker keeps its folders
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
def worker_var_dir(tmp_path) -> Iterator[Path]:
    """The VAR_DIR for the worker, so that it and this process share one broker and nobody else.

    A filesystem broker would otherwise be var/test/broker, which every test process on the
    machine publishes to (any `.delay()` in a unit test lands there): a parallel `make test`
    fed our worker its messages and let other consumers take ours. So both sides move to a
    private folder: the worker through VAR_DIR, this process through the Celery app's config.
    Redis keeps the test process's CELERY_BROKER_URL; its queue is purged before the start.
    """
    from salesdept.celery import app

    if not settings.CELERY_BROKER_URL.startswith("filesystem"):
        yield settings.VAR_DIR
        return
    var_dir = tmp_path / "var"
    broker = var_dir / "broker"  # the layout settings.py derives from VAR_DIR
    options = {
        "data_folder_in": str(broker / "queue"),
        "data_folder_out": str(broker / "queue"),
        "control_folder": str(broker / "control"),
    }
    for folder in set(options.values()):
        os.makedirs(folder)
    previous = app.conf.broker_transport_options
    app.conf.broker_transport_options = options
    _drop_producer_pool(app)
    try:
        yield var_dir
    finally:
        app.conf.broker_transport_options = previous
        _drop_producer_pool(app)


def _drop_producer_pool(app) -> None:
    """Make the next publish connect with the current config (pooled connections keep the old).

    `app.close()` would also deregister the app, and shared tasks would stop resolving; this is
    the reset Celery itself does after a fork.
    """
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_worker_process(transactional_db, settings, tmp_path, worker_var_dir) -> Iterator[Callable[[], Worker]]:
    """A real `celery -A salesdept worker --beat` on the test database and the test broker.

    Start it after the rows beat needs are committed (see `start`); it is always stopped,
    and its log tail is printed on teardown (pytest shows it when the test fails).
    """
    from salesdept.celery import app

    started: list[Worker] = []

    def start(*, beat: bool = True, purge: bool = True, concurrency: int = 2, **extra_env: str) -> Worker:
        """Start a worker; several may run side by side (one with beat, as in production)."""
        outbox = tmp_path / "outbox.jsonl"
        settings.SANDBOX_OUTBOX = outbox  # the test reads what the worker's channel wrote
        if purge:
            app.control.purge()  # leftovers from other tests must not run against this database
        name = uuid.uuid4().hex[:8]
        hostname = f"integration-{name}@%h"
        log = tmp_path / f"worker-{name}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "salesdept",
            "worker",
            *(["--beat"] if beat else []),
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
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
                travelling(command),
                cwd=settings.BASE_DIR,
                env={**worker_environment(outbox=outbox, var_dir=worker_var_dir), **extra_env},
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
