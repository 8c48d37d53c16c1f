import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from salesdept.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Start the web server and one Celery worker with embedded beat; Ctrl-C stops all of it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, port: int, host: str, **options) -> None:
        python, manage = sys.executable, str(settings.BASE_DIR / "manage.py")
        processes = [
            subprocess.Popen([python, manage, "runserver", f"{host}:{port}", "--noreload"]),
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "salesdept",
                    "worker",
                    "--beat",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    "2",
                    "--hostname",
                    "embedded@%h",
                ],
                cwd=settings.BASE_DIR,
            ),
        ]
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nSales Department is starting on {url}"))
        self.stdout.write(f"Sign in with (password {DEMO_PASSWORD}):")
        for email, _, _, role in DEMO_USERS:
            self.stdout.write(f"  {role:<10} {email}")
        self.stdout.write("Health: " + url + "healthz    Stop: Ctrl-C\n")
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
            self.stderr.write("A process stopped; stopping the others.")
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
