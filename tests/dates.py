"""`make test-dates`: the suite at several instants, each with its machine timezone, some at once.

    python -m tests.dates --jobs 2 2027-01-10T21:30:00Z/Asia/Tokyo ... -- [pytest arguments]

Each run is `pytest --clock=INSTANT` with TZ=ZONE. Runs side by side must not share what a test
empties or fills: each slot gets its own test database (DATABASE_URL's name + `_dates<slot>`),
its own Redis databases for the cache and the broker (the given number + 2 x slot: a test clears
the whole cache) and its own VAR_DIR (the file cache and broker when Redis is not set). A run's
output goes to var/test-dates/<instant>.log and is printed whole when it fails.
"""

import argparse
import concurrent.futures
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

LOGS = Path("var/test-dates")
REDIS_DATABASES = 16  # Redis's default `databases`


def database_url(url: str, slot: int) -> str:
    """The same server, a database of the slot's own (pytest-django makes test_<name> from it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        return url  # SQLite: each run's test database lives in its own process's memory
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_dates{slot}"))


def redis_url(url: str, slot: int) -> str:
    """The same server, the given database number + 2 x slot (one for the cache, one for the broker)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("redis"):
        return url
    number = int(parts.path.strip("/") or 0) + 2 * slot
    if number >= REDIS_DATABASES:
        raise SystemExit(f"{url}: slot {slot} would need Redis database {number}; use lower numbers or fewer --jobs")
    return urlunsplit(parts._replace(path=f"/{number}"))


def environment(slot: int, zone: str) -> dict[str, str]:
    env = {**os.environ, "TZ": zone, "VAR_DIR": f"var/test-dates/slot{slot}"}
    if slot:
        for name, derive in (
            ("DATABASE_URL", database_url),
            ("REDIS_URL", redis_url),
            ("CELERY_BROKER_URL", redis_url),
        ):
            if env.get(name):
                env[name] = derive(env[name], slot)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side (default %(default)s)")
    parser.add_argument("runs", nargs="+", help="INSTANT/ZONE, e.g. 2027-03-28T01:30:00Z/Europe/London")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args, pytest_args = parser.parse_args(argv[:cut]), argv[cut + 1 :]
    LOGS.mkdir(parents=True, exist_ok=True)
    free_slots = list(range(max(1, args.jobs)))
    lock = threading.Lock()

    def run(instant_zone: str) -> tuple[str, int]:
        instant, zone = instant_zone.split("/", 1)
        with lock:
            slot = free_slots.pop(0)
        log = LOGS / f"{instant.replace(':', '')}.log"
        started = time.monotonic()
        print(f"== the suite at {instant}, machine timezone {zone} (slot {slot})", flush=True)
        try:
            with log.open("w") as out:
                code = subprocess.call(
                    [
                        sys.executable,
                        "-m",
                        "pytest",
                        "-q",
                        "-p",
                        "no:cacheprovider",
                        f"--clock={instant}",
                        *pytest_args,
                    ],
                    env=environment(slot, zone),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        finally:
            with lock:
                free_slots.append(slot)
        lines = log.read_text(errors="replace").splitlines()
        print(f"== {instant} ({zone}) in {time.monotonic() - started:.0f} s: {lines[-1] if lines else 'no output'}")
        if code:
            print("\n".join(lines), flush=True)
        return instant, code

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(free_slots)) as pool:
        results = list(pool.map(run, args.runs))
    failed = [instant for instant, code in results if code]
    if failed:
        print("test-dates failed at: " + " ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
