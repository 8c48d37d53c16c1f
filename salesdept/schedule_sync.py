"""Writing the declared schedules (salesdept/schedules.py) to django-celery-beat without undoing admins.

An admin may change a job's interval or switch it off in Django admin. A deploy must not
silently put it back: a declared job is created when missing, and an existing one is rewritten
(and re-enabled) only when its declaration in code changed since the last sync. The digest of
what was last synced lives in DeclaredSchedule.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from salesdept import clock
from salesdept.models import DeclaredSchedule
from salesdept.schedules import Schedule


def declaration_digest(entry: Schedule) -> str:
    return hashlib.sha256(json.dumps(asdict(entry), sort_keys=True).encode()).hexdigest()


def _write(entry: Schedule, task: PeriodicTask | None) -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(every=entry.minutes, period=IntervalSchedule.MINUTES)
    task = task or PeriodicTask(name=entry.name)
    task.task, task.interval, task.crontab = entry.task, every, None
    task.enabled, task.description = True, entry.why
    task.save()  # save(), not update(): it tells beat the schedule changed; last_run_at is kept
    return task


def _sync_one(entry: Schedule, *, now) -> str:
    digest = declaration_digest(entry)
    task = PeriodicTask.objects.filter(name=entry.name).first()
    known = DeclaredSchedule.objects.filter(name=entry.name).first()
    if task is None:
        _write(entry, None)
        outcome = "created"
    elif known is None:
        # Synced before digests were kept: the row may hold an admin's edit (interval, on or off),
        # so it is adopted as is, but for the task it runs: that is code, and an old path names nothing.
        if task.task != entry.task:
            task.task = entry.task
            task.save(update_fields=["task"])  # save() tells beat
        outcome = "adopted"
    elif known.digest != digest:
        _write(entry, task)
        outcome = "updated"
    else:
        return f"kept {entry.name} (declaration unchanged; admin edits stay)"
    DeclaredSchedule.objects.update_or_create(name=entry.name, defaults={"digest": digest, "synced_at": now})
    return f"{outcome} {entry.name} (every {entry.minutes} min)" + (" as found" if outcome == "adopted" else "")


def _retire(names: Sequence[str]) -> list[str]:
    """Disable, once, what was declared before and no longer is; an admin may turn it back on."""
    lines = []
    for retired in DeclaredSchedule.objects.exclude(name__in=names):
        for task in PeriodicTask.objects.filter(name=retired.name, enabled=True):
            task.enabled = False
            task.save(update_fields=["enabled"])  # save() tells beat; a bare update() would not
            lines.append(f"disabled {task.name} (no longer declared)")
        retired.delete()
    return lines


@transaction.atomic
def schedules_sync(*, declared: Sequence[Schedule]) -> list[str]:
    """Create, update or retire beat entries to match `declared`; one line per job saying what happened."""
    now = clock.now()
    lines = [_sync_one(entry, now=now) for entry in declared]
    return lines + _retire([entry.name for entry in declared])
