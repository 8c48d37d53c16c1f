from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from leads.privacy import ErasureRefused, person_erase_by_address


class Command(BaseCommand):
    help = (
        "Erase a person who asked by email or letter (GDPR Art. 17): their data is removed, their "
        "address stays on the suppression list. Runs even when we hold nothing about them."
    )

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", default="", help="The address the request names")
        who.add_argument("--linkedin", default="", help="The LinkedIn profile URL the request names")
        parser.add_argument("--reason", required=True, help='Kept in the audit log, e.g. "asked by email on 3 May"')
        parser.add_argument("--actor", default="", help="Username of the person carrying it out, for the audit log")

    def handle(self, *args, email: str, linkedin: str, reason: str, actor: str, **options):
        user = None
        if actor:
            user = get_user_model().objects.filter(username=actor).first()
            if user is None:
                raise CommandError(f"No user {actor!r}.")
        try:
            lead_id = person_erase_by_address(email=email, linkedin_url=linkedin, actor=user, reason=reason)
        except ErasureRefused as exc:
            raise CommandError(str(exc)) from None
        if lead_id is None:
            self.stdout.write("We hold no lead with that address; it is now on the suppression list.")
        else:
            self.stdout.write(f"Lead {lead_id} erased; the address stays on the suppression list.")
