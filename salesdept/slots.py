"""A few holders of a name at once, across every process of the deployment, first come first served.

A local model server answers one request at a time (or a few): its limit holds for all the worker's
processes together, not for each. Whoever asks first is served first: a process that releases a
slot and asks again queues behind those already waiting, so a busy process cannot starve another.

Where the processes meet decides where the queue lives:
- with Redis (REDIS_URL), in Redis, for processes on any number of machines. Each entry has a
  lease (Redis's own clock): a waiter renews it at every look, a holder's lasts the longest hold,
  so the slot of a process that died comes back when its lease ends;
- without Redis every process runs on this machine (the filesystem broker): in a file under
  VAR_DIR, changed under an exclusive lock; a dead process's entry is dropped at once.
"""

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import redis
from django.conf import settings

LOOK_SECONDS = 0.05  # how often a waiter looks at the queue
WAITER_LEASE_SECONDS = 5.0  # a waiter that stopped looking (it died) leaves the queue after this


class SlotsBusy(Exception):
    """No slot came free within the wait: the caller gave up its place in the queue."""


class SlotsUnavailable(Exception):
    """The shared queue could not be read (Redis is down)."""


@contextlib.contextmanager
def slot(name: str, *, size: int, wait: float, hold: float) -> Iterator[float]:
    """Hold one of `size` slots of `name` for the block; yields the seconds spent waiting for it.

    Waits at most `wait` seconds, then raises SlotsBusy. `hold`: the longest the block can take
    (with Redis, a dead holder's slot comes back after it).
    """
    queue = _RedisQueue(name, settings.REDIS_URL) if settings.REDIS_URL else _FileQueue(name)
    token = uuid.uuid4().hex
    asked = time.monotonic()
    try:
        while not queue.take(token, size=size, hold=hold):
            if time.monotonic() - asked >= wait:
                raise SlotsBusy(f"{size} slot(s) of {name} stayed taken for {wait:g} s")
            time.sleep(LOOK_SECONDS)
        yield time.monotonic() - asked
    finally:
        queue.leave(token)


def _key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


# KEYS: the queue (token -> ticket, first come first), the leases (token -> end), the ticket counter.
# ARGV: token, size, waiter lease, holder lease (seconds). 1: the token holds a slot; 0: it waits.
_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZINTERSTORE', KEYS[1], 2, KEYS[1], KEYS[2], 'WEIGHTS', 1, 0)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[3]), ARGV[1])
end
local holds = redis.call('ZRANK', KEYS[1], ARGV[1]) < tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(holds and ARGV[4] or ARGV[3]), ARGV[1])
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[4])) + 60) end
return holds and 1 or 0
"""


@functools.cache
def _redis(url: str) -> tuple[redis.Redis, "redis.commands.core.Script"]:
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return client, client.register_script(_TAKE)


class _RedisQueue:
    def __init__(self, name: str, url: str) -> None:
        key = f"slots:{_key(name)}"
        self.keys = [f"{key}:queue", f"{key}:leases", f"{key}:tickets"]
        self.client, self.script = _redis(url)

    def take(self, token: str, *, size: int, hold: float) -> bool:
        try:
            return bool(self.script(keys=self.keys, args=[token, size, WAITER_LEASE_SECONDS, hold]))
        except redis.RedisError as exc:
            raise SlotsUnavailable(f"Redis: {exc}") from exc

    def leave(self, token: str) -> None:
        with contextlib.suppress(redis.RedisError):  # unreachable: the lease ends it
            self.client.pipeline().zrem(self.keys[0], token).zrem(self.keys[1], token).execute()


class _FileQueue:
    """The same queue in a JSON file, {"tickets": n, "queue": [[ticket, token, pid, lease end], ...]}:
    read and replaced whole under an exclusive lock of a file beside it. Lease ends are CLOCK_MONOTONIC,
    one clock for every process of the machine."""

    def __init__(self, name: str) -> None:
        self.path = Path(settings.VAR_DIR) / "slots" / f"{_key(name)}.json"
        self.lock = self.path.with_suffix(".lock")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.lock, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or its process ends
                try:
                    state = json.loads(self.path.read_text(encoding="utf-8"))
                except (FileNotFoundError, ValueError):  # none yet, or not ours: start a new queue
                    state = {"tickets": 0, "queue": []}
                yield state
                written = self.path.with_suffix(f".{os.getpid()}.tmp")
                written.write_text(json.dumps(state), encoding="utf-8")
                os.replace(written, self.path)  # whole or not at all, even if this process is killed
        except OSError as exc:
            raise SlotsUnavailable(f"{self.path}: {exc}") from exc

    def take(self, token: str, *, size: int, hold: float) -> bool:
        now = time.monotonic()
        with self._locked() as state:
            queue = [entry for entry in state["queue"] if entry[3] > now and _alive(entry[2])]
            mine = next((entry for entry in queue if entry[1] == token), None)
            if mine is None:
                state["tickets"] += 1
                mine = [state["tickets"], token, os.getpid(), 0]
                queue.append(mine)
            queue.sort()
            holds = queue.index(mine) < size
            mine[3] = now + (hold if holds else WAITER_LEASE_SECONDS)
            state["queue"] = queue
        return holds

    def leave(self, token: str) -> None:
        with contextlib.suppress(SlotsUnavailable), self._locked() as state:  # unreadable: its lease ends it
            state["queue"] = [entry for entry in state["queue"] if entry[1] != token]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
