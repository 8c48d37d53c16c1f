from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from salesdept.schedules import SCHEDULES


class Command(BaseCommand):
    help = "Write salesdept/schedules.py to django-celery-beat (idempotent; keeps last_run_at)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        for entry in SCHEDULES:
            every, _ = IntervalSchedule.objects.get_or_create(every=entry.minutes, period=IntervalSchedule.MINUTES)
            _, created = PeriodicTask.objects.update_or_create(
                name=entry.name,
                defaults={
                    "task": entry.task,
                    "interval": every,
                    "crontab": None,
                    "enabled": True,
                    "description": entry.why,
                },
            )
            self.stdout.write(f"{'created' if created else 'updated'} {entry.name} (every {entry.minutes} min)")
        declared = [entry.name for entry in SCHEDULES]
        for task in PeriodicTask.objects.filter(enabled=True).exclude(name__in=declared):
            task.enabled = False
            task.save(update_fields=["enabled"])  # save() tells beat; a bare update() would not
            self.stdout.write(f"disabled {task.name} (no longer declared)")
