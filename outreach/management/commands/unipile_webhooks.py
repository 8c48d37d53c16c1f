"""Point Unipile's webhooks at this deployment: `manage.py unipile_webhooks` (idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from outreach.channels.base import ChannelUnavailable
from outreach.linkedin import unipile_webhooks_ensure


class Command(BaseCommand):
    help = "Register the messaging, relation and account-status webhooks at Unipile for SITE_URL."

    def handle(self, *args, **options) -> None:
        if not settings.UNIPILE_WEBHOOK_SECRET:
            raise CommandError("Set UNIPILE_WEBHOOK_SECRET first: Unipile sends it with every call.")
        url = f"{settings.SITE_URL.rstrip('/')}/webhooks/unipile/"
        try:
            registered = unipile_webhooks_ensure()  # what connecting the first LinkedIn account does too
        except ChannelUnavailable as exc:
            raise CommandError(str(exc)) from exc
        if registered:
            self.stdout.write(f"Registered {', '.join(registered)} webhooks for {url}.")
        else:
            self.stdout.write(f"Every webhook already points at {url}; nothing to do.")
