"""Slots shared by processes (salesdept.slots): the cap holds across processes, first come first
served, and a dead holder does not keep its slot. Real processes (forked), real Redis or real files."""

import multiprocessing
import os
import signal
import time

import pytest

from salesdept import slots

FORK = multiprocessing.get_context("fork")


@pytest.fixture(params=["files", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request, settings, tmp_path):
    """Where the queue lives: files under VAR_DIR (no Redis: one machine), or Redis."""
    settings.VAR_DIR = tmp_path
    settings.REDIS_URL = os.environ.get("REDIS_URL", "") if request.param == "redis" else ""
    return request.param


def _holds(name: str, size: int, times: int, seconds: float, spans) -> None:
    for _ in range(times):
        with slots.slot(name, size=size, wait=30, hold=60):
            started = time.monotonic()
            time.sleep(seconds)
            spans.put((started, time.monotonic()))


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = now = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        now += step
        most = max(most, now)
    return most


def _run(processes: list) -> None:
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0


@pytest.mark.parametrize("size", [1, 2])
def test_processes_together_never_hold_more_than_the_slots(backend, size):
    spans = FORK.Queue()
    _run([FORK.Process(target=_holds, args=("server", size, 6, 0.05, spans)) for _ in range(4)])

    held = [spans.get(timeout=5) for _ in range(24)]
    assert _most_at_once(held) == size  # reached, never passed


def _hog(name: str, started, spans) -> None:
    """Takes the slot again the moment it lets go, 40 times."""
    for n in range(40):
        with slots.slot(name, size=1, wait=30, hold=60):
            if n == 0:
                started.set()
            time.sleep(0.05)
    spans.put(time.monotonic())


def test_a_process_asking_again_queues_behind_one_already_waiting(backend):
    started, done = FORK.Event(), FORK.Queue()
    hog = FORK.Process(target=_hog, args=("server", started, done))
    hog.start()
    assert started.wait(10)

    with slots.slot("server", size=1, wait=30, hold=60) as waited:
        pass

    assert waited < 0.6, f"waited {waited:.2f} s: the other process kept the slot for all its 40 turns (2 s)"
    hog.join(timeout=30)
    assert hog.exitcode == 0


def _hold_until(name: str, hold: float, holding, release) -> None:
    with slots.slot(name, size=1, wait=30, hold=hold):
        holding.set()
        release.wait(600)


def _holder(name: str, hold: float):
    holding, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold_until, args=(name, hold, holding, release))
    holder.start()
    assert holding.wait(10)
    return holder, release


def test_the_slot_of_a_process_that_died_holding_it_comes_back(backend):
    holder, _ = _holder("server", hold=1.0)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()

    with slots.slot("server", size=1, wait=10, hold=60) as waited:
        pass

    # Files: the process is gone, so is its place. Redis: its lease (the longest hold, 1 s) ends.
    assert waited < (0.5 if backend == "files" else 2.0)


def test_a_caller_that_waited_too_long_gives_up_and_leaves_the_queue(backend):
    holder, release = _holder("server", hold=60)
    asked = time.monotonic()
    with pytest.raises(slots.SlotsBusy), slots.slot("server", size=1, wait=0.3, hold=60):
        pytest.fail("the slot is held")
    assert 0.3 <= time.monotonic() - asked < 2
    release.set()
    holder.join(timeout=10)

    with slots.slot("server", size=1, wait=10, hold=60) as waited:  # nobody left ahead of it
        pass
    assert waited < 0.5


def test_other_names_have_slots_of_their_own(backend):
    holder, release = _holder("one server", hold=60)
    try:
        with slots.slot("another server", size=1, wait=0.3, hold=60) as waited:
            assert waited < 0.3
    finally:
        release.set()
        holder.join(timeout=10)


def test_a_queue_that_cannot_be_kept_is_an_error_not_a_free_pass(settings, tmp_path):
    settings.REDIS_URL, settings.VAR_DIR = "", tmp_path / "a file"
    settings.VAR_DIR.write_text("not a directory")

    with pytest.raises(slots.SlotsUnavailable), slots.slot("server", size=1, wait=1, hold=60):
        pytest.fail("no queue, no slot")
