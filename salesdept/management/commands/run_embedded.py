import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from salesdept.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS


def sign_in_lines() -> list[str]:
    """Who can sign in: the demo users when they exist, else how to create the first admin."""
    demo = [(email, role) for email, _, _, role in DEMO_USERS]
    existing = set(
        get_user_model().objects.filter(username__in=[email for email, _ in demo]).values_list("username", flat=True)
    )
    if existing:
        return [
            f"Sign in with (password {DEMO_PASSWORD}):",
            *(f"  {role:<10} {email}" for email, role in demo if email in existing),
        ]
    if get_user_model().objects.filter(is_superuser=True, is_active=True).exists():
        return ["Sign in with your admin account."]
    return [
        "No one can sign in yet. Create the first admin (it asks for an email address and a password):",
        f"  {sys.executable} manage.py createsuperuser",
    ]


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
        for line in sign_in_lines():
            self.stdout.write(line)
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
