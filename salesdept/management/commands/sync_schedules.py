from django.core.management.base import BaseCommand

from salesdept.schedule_sync import schedules_sync
from salesdept.schedules import SCHEDULES


class Command(BaseCommand):
    help = (
        "Write salesdept/schedules.py to django-celery-beat: creates missing jobs, rewrites one only when "
        "its declaration changed (an admin's edits stay), keeps last_run_at, disables jobs no longer declared."
    )

    def handle(self, *args, **options) -> None:
        for line in schedules_sync(declared=SCHEDULES):
            self.stdout.write(line)
