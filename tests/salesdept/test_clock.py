"""One clock: product code asks salesdept.clock (or its caller) what time it is, never the wall clock."""

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from salesdept import clock

APPS = ("salesdept", "leads", "campaigns", "outreach", "approvals", "reporting")
# Calls that read the wall clock behind their caller's back. A reference (`default=timezone.now`
# on a model field) is not a call and may stay; so may localtime(value) and durations (time.monotonic).
WALL_CLOCK_READS = {
    ("timezone", "now"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}


def wall_clock_reads(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if (name, node.func.attr) in WALL_CLOCK_READS:
            found.append((node.lineno, ast.unparse(node)))
        elif (name, node.func.attr) in {("timezone", "localtime"), ("timezone", "localdate")} and not node.args:
            found.append((node.lineno, ast.unparse(node)))  # no value: it means "now"
    return found


def product_modules() -> list[Path]:
    root = Path(settings.BASE_DIR)
    return [
        path
        for app in APPS
        for path in sorted((root / app).rglob("*.py"))
        if "migrations" not in path.parts and path != root / "salesdept" / "clock.py"
    ]


def test_it_finds_a_planted_wall_clock_read():
    planted = "from django.utils import timezone\ndef f():\n    return timezone.now() - dt.date.today()\n"
    assert [line for line, _ in wall_clock_reads(planted)] == [3, 3]
    assert wall_clock_reads("x = models.DateTimeField(default=timezone.now)\ny = timezone.localtime(moment)\n") == []
    assert wall_clock_reads("y = timezone.localtime()\n") == [(1, "timezone.localtime()")]


def test_it_reads_time_only_through_the_project_clock():
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}:{line}: {call}"
        for path in product_modules()
        for line, call in wall_clock_reads(path.read_text())
    ]
    assert offenders == [], "use salesdept.clock.now()/today() or a `now` from the caller:\n" + "\n".join(offenders)


def test_it_follows_the_suite_clock(pytestconfig):
    from tests.conftest import session_instant

    assert abs(clock.now() - session_instant(pytestconfig)) < dt.timedelta(minutes=1)


def test_it_reads_the_clock_file_of_the_worker_tests(settings, tmp_path):
    path = tmp_path / "clock"
    path.write_text("2027-03-28T01:30:00+00:00")
    settings.CLOCK_FILE = str(path)
    assert clock.now() == dt.datetime(2027, 3, 28, 1, 30, tzinfo=dt.UTC)
    assert clock.today("Europe/London") == dt.date(2027, 3, 28)
    assert clock.today("America/Los_Angeles") == dt.date(2027, 3, 27)


@pytest.mark.parametrize(
    ("instant", "zone", "day"),
    [
        ("2026-12-31T23:30:00+00:00", "UTC", dt.date(2026, 12, 31)),
        ("2026-12-31T23:30:00+00:00", "Europe/Berlin", dt.date(2027, 1, 1)),
        ("2026-12-31T23:30:00+00:00", "Pacific/Auckland", dt.date(2027, 1, 1)),
        ("2028-02-29T12:00:00+00:00", "America/New_York", dt.date(2028, 2, 29)),
        ("2027-10-31T00:30:00+00:00", "Europe/London", dt.date(2027, 10, 31)),
    ],
)
def test_it_tells_the_date_in_a_zone(time_machine, instant, zone, day):
    time_machine.move_to(dt.datetime.fromisoformat(instant), tick=False)
    assert clock.today(zone) == day
    assert clock.today() == timezone.localdate(clock.now())
