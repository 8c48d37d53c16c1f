from django.core.management.base import BaseCommand

from reporting.metrics import metrics_rebuild
from reporting.models import DailyCount


class Command(BaseCommand):
    help = "Recompute the dashboard's daily counts from the activity log (after an upgrade, or to check them)."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Only when no daily count exists yet")

    def handle(self, *args, if_empty: bool = False, **options):
        if if_empty and DailyCount.objects.exists():
            self.stdout.write("Daily counts exist; nothing to do.")
            return
        written = metrics_rebuild()
        self.stdout.write(f"Rebuilt {written['milestones']} milestones and {written['daily_counts']} daily counts.")
