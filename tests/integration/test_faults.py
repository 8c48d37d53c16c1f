"""Faults in the parts the send path stands on: afterwards nothing is lost, nothing is sent twice,
and the work resumes by itself.

Redis (the broker) is a private redis-server the test stops and starts again empty, as a crash
or a restart without persistence leaves it. Dispatch lives in the database, so the ticks after
the restart simply ask again; what was queued when Redis died is gone, and that is fine.
"""

import socket
import subprocess
import threading
import time
from collections import Counter

import pytest
from django.conf import settings as django_settings

from outreach.models import OutreachMessage
from outreach.tasks import outreach_send_next_task
from tests.factories import CampaignFactory
from tests.integration.conftest import _drop_producer_pool, wait_for
from tests.integration.test_send_workers import MONDAY_9, approve_all, make_accounts, outbox_lines, set_clock

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = OutreachMessage.Status


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    def __init__(self, folder) -> None:
        self.port, self.folder, self.process = _free_port(), folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for("redis to accept connections", self._up, timeout=10)

    def _up(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        self.process.kill()  # a crash, not a clean shutdown
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    if redis.process.poll() is None:
        redis.stop()


@pytest.fixture
def broker_at(private_redis):
    """This process publishes to the private Redis too (and back to the test broker afterwards)."""
    from salesdept.celery import app

    names = ("broker_url", "broker_read_url", "broker_write_url")
    previous = {name: app.conf[name] for name in names}
    app.conf.update(dict.fromkeys(names, private_redis.url))
    _drop_producer_pool(app)
    yield private_redis.url
    app.conf.update(previous)
    _drop_producer_pool(app)


def test_a_redis_crash_during_dispatch_loses_nothing_and_sends_nothing_twice(
    settings, tmp_path, alice, private_redis, broker_at, celery_worker_process
):
    clock_file = tmp_path / "clock"
    set_clock(clock_file, MONDAY_9)
    settings.CLOCK_FILE = str(clock_file)
    accounts = make_accounts(alice, 3, min_gap_seconds=0, max_gap_seconds=0)
    campaign = CampaignFactory(owner=alice, status="active")
    campaign.sending_accounts.set(accounts)
    for account in accounts:
        approve_all(campaign, account, alice, 10)
    worker = celery_worker_process(beat=False, CELERY_BROKER_URL=broker_at, SALESDEPT_CLOCK_FILE=str(clock_file))

    ticks, refused, crashed = 0, 0, False
    # Until nothing waits and nothing is in flight: a send claimed a moment ago is still going out.
    while OutreachMessage.objects.filter(status__in=[Status.APPROVED, Status.SENDING]).exists():
        assert ticks < 400, f"stuck: {Counter(OutreachMessage.objects.values_list('status', flat=True))}"
        for account in accounts:
            try:  # what beat does each minute; while Redis is down the publish fails and the tick is lost
                outreach_send_next_task.apply_async((account.pk,), retry=False)
            except Exception:  # noqa: BLE001 (kombu raises several kinds for a dead broker)
                refused += 1
        time.sleep(0.2)
        ticks += 1
        if not crashed and OutreachMessage.objects.filter(status=Status.SENT).count() >= 8:
            private_redis.stop()
            crashed = True
            for account in accounts:  # ticks while the broker is down
                try:
                    outreach_send_next_task.apply_async((account.pk,), retry=False)
                except Exception:  # noqa: BLE001
                    refused += 1
            time.sleep(2)
            private_redis.start()  # back, empty: nothing of what was queued survived
    worker.assert_alive()

    assert crashed and refused > 0
    messages = list(OutreachMessage.objects.all())
    assert Counter(m.status for m in messages) == {Status.SENT: 30}
    delivered = Counter(line["key"] for line in outbox_lines(django_settings.SANDBOX_OUTBOX))
    assert len(delivered) == 30 and set(delivered.values()) == {1}, "a message reached the network twice"
    assert " ready." in worker.log_text()


class CuttableProxy:
    """A TCP proxy in front of PostgreSQL that the test can cut: connections drop, new ones are refused."""

    def __init__(self, target_port: int) -> None:
        self.target_port, self.port = target_port, _free_port()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.lock = threading.Lock()

    def open(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.listener.close()
        with self.lock:
            for end in self.sockets:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
            self.sockets = []


def test_postgres_refusing_connections_for_a_while_sends_nothing_twice_and_work_resumes(
    settings, tmp_path, alice, celery_worker_process
):
    from django.db import connection

    from tests.integration.conftest import database_url_for_worker

    clock_file = tmp_path / "clock"
    set_clock(clock_file, MONDAY_9)
    settings.CLOCK_FILE = str(clock_file)
    accounts = make_accounts(alice, 3, min_gap_seconds=0, max_gap_seconds=0)
    campaign = CampaignFactory(owner=alice, status="active")
    campaign.sending_accounts.set(accounts)
    for account in accounts:
        approve_all(campaign, account, alice, 10)
    proxy = CuttableProxy(int(connection.settings_dict["PORT"] or 5432))
    proxy.open()
    through_proxy = database_url_for_worker().replace(
        f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT'] or 5432}", f"127.0.0.1:{proxy.port}"
    )
    assert str(proxy.port) in through_proxy
    worker = celery_worker_process(beat=False, DATABASE_URL=through_proxy, SALESDEPT_CLOCK_FILE=str(clock_file))

    def tick() -> None:
        for account in accounts:
            outreach_send_next_task.delay(account.pk)
        time.sleep(0.2)

    wait_for("the first sends", lambda: OutreachMessage.objects.filter(status=Status.SENT).count() >= 6 or tick())
    proxy.cut()  # the database goes away for the worker: open connections drop, new ones are refused
    for _ in range(15):  # three seconds of ticks the worker cannot serve
        tick()
    sent_during_cut = OutreachMessage.objects.filter(status=Status.SENT).count()
    proxy.open()

    def settled():
        tick()
        return not OutreachMessage.objects.filter(status=Status.APPROVED).exists()

    wait_for("the rest to go out once the database is back", settled, timeout=90)
    worker.assert_alive()

    statuses = Counter(OutreachMessage.objects.values_list("status", flat=True))
    delivered = Counter(line["key"] for line in outbox_lines(django_settings.SANDBOX_OUTBOX))
    assert set(delivered.values()) == {1}, "a message reached the network twice"
    assert statuses[Status.SENT] > sent_during_cut  # the work resumed by itself
    # A send cut between the network and our record stays "sending" (then "unknown" for a person
    # to check): never sent again. Every message is accounted for.
    assert set(statuses) <= {Status.SENT, Status.SENDING, Status.UNKNOWN}
    assert sum(statuses.values()) == 30
    sent_keys = {
        str(key) for key in OutreachMessage.objects.filter(status=Status.SENT).values_list("idempotency_key", flat=True)
    }
    assert sent_keys <= set(delivered)
