import datetime as dt

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.allocation import campaign_allocate
from campaigns.models import Campaign, SequenceStep, TargetProfile
from competitors.demo import competitors_seed_demo
from leads.intent import leads_activity_read
from leads.models import Lead
from leads.services import leads_find, leads_qualify
from library.models import ContentItem
from outreach.models import SendingAccount
from outreach.services import messages_draft
from salesdept import clock
from salesdept.roles import ADMIN, MANAGER, REP

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 (demo users only; printed at start)
DEMO_USERS = [
    ("alice.rep@example.com", "Alice", "Rivera", REP),
    ("dan.rep@example.com", "Dan", "Okoro", REP),
    ("bob.manager@example.com", "Bob", "Lindgren", MANAGER),
    ("carol.admin@example.com", "Carol", "Mensah", ADMIN),
]


class Command(BaseCommand):
    help = "Create demo users for each role, a sandbox campaign and account, and a first queue of drafts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--leads", type=int, default=20, help="How many sandbox leads to find (default 20).")

    def handle(self, *args, leads: int, **options) -> None:
        if not settings.SEED_DEMO:
            self.stdout.write("SEED_DEMO=false: no demo data created.")
            return
        users = self._users()
        campaign = self._campaign(users)
        if not Lead.objects.filter(campaign=campaign).exists():
            self._first_run(campaign, leads)
        if not ContentItem.objects.exists():
            self._presence(users, campaign)
        self.stdout.write(competitors_seed_demo(manager=users["bob.manager@example.com"]))
        self.stdout.write(
            self.style.SUCCESS(f"Demo ready. Sign in with any of these (password for all: {DEMO_PASSWORD}):")
        )
        for email, _, _, role in DEMO_USERS:
            self.stdout.write(f"  {role:<10} {email}")

    @transaction.atomic
    def _users(self) -> dict[str, object]:
        User = get_user_model()
        users = {}
        for email, first, last, role in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=email, defaults={"email": email, "first_name": first, "last_name": last}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = user.is_superuser = role == ADMIN
                user.save()
            user.groups.add(Group.objects.get(name=role))
            EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
            users[email] = user
        return users

    @transaction.atomic
    def _campaign(self, users) -> Campaign:
        manager = users["bob.manager@example.com"]
        target, _ = TargetProfile.objects.get_or_create(
            name="Finance leaders in European fintech",
            defaults={
                "titles": ["Chief Financial Officer", "VP Finance", "Head of Finance", "Finance Manager"],
                "seniorities": ["c_suite", "vp", "director"],
                "industries": ["Fintech", "Banking"],
                "locations": ["London", "Manchester", "Berlin", "Amsterdam", "Paris"],
                "company_sizes": ["11-200", "201-5000"],
                "exclusions": ["Intern", "Student"],
                # What sandbox people post about (leads.sources.sandbox): intent shows in the demo's scores.
                "keywords": ["forecasting", "month-end close", "real-time payments"],
            },
        )
        campaign, created = Campaign.objects.get_or_create(
            name="FinTech Leaders Summit 2027",
            defaults={
                "owner": manager,
                "status": Campaign.Status.ACTIVE,
                "target": target,
                "event": "the FinTech Leaders Summit in London on 12 March 2027",
                "offer": "We are curating a panel on real-time finance and would value your perspective.",
                "call_to_action": "Would you be open to a 15-minute call next week?",
                "min_score": 50,
                "daily_lead_quota": 20,
                "lead_sources": ["sandbox"],
            },
        )
        if created:
            SequenceStep.objects.create(campaign=campaign, order=1, kind=SequenceStep.Kind.CONNECTION_NOTE)
            SequenceStep.objects.create(campaign=campaign, order=2, kind=SequenceStep.Kind.MESSAGE, delay_days=3)
            for email in ("alice.rep@example.com", "dan.rep@example.com"):
                rep = users[email]
                account, _ = SendingAccount.objects.get_or_create(
                    name=f"{rep.first_name}'s LinkedIn (sandbox)",
                    defaults={
                        "owner": rep,
                        "channel": SendingAccount.Channel.SANDBOX,
                        # A demo runs at any hour: the sandbox account works around the clock.
                        "work_start": dt.time(0, 0),
                        "work_end": dt.time(23, 59),
                        "working_days": [0, 1, 2, 3, 4, 5, 6],
                        "min_gap_seconds": 20,
                        "max_gap_seconds": 60,
                        "warmup_start": 15,
                    },
                )
                campaign.sending_accounts.add(account)
        return campaign

    def _first_run(self, campaign: Campaign, count: int) -> None:
        """Run the pipeline once, in process, so the queue is full before the worker starts."""
        found = leads_find(campaign_id=campaign.pk, limit=count)
        qualified = leads_qualify(lead_ids=found)
        # Their LinkedIn activity (simulated) before allocation: the best-scored go first, with the reasons why.
        read = leads_activity_read(
            lead_ids=[lead.pk for lead in qualified if lead.status == Lead.Status.QUALIFIED], now=clock.now()
        )
        allocated = campaign_allocate(campaign_id=campaign.pk)
        drafted = messages_draft(lead_ids=allocated)
        self.stdout.write(
            f"Found {len(found)} sandbox leads, {sum(lead.status == Lead.Status.QUALIFIED for lead in qualified)} "
            f"qualified, {len(read.read)} with their LinkedIn activity read, {len(allocated)} allocated, "
            f"{len(drafted)} drafts waiting for approval."
        )

    def _presence(self, users, campaign: Campaign) -> None:
        """A content library, Alice's weekly post suggestions, and one post published yesterday with its results."""
        from presence.engagement import posts_read_results
        from presence.models import Post
        from presence.publishing import post_publish
        from presence.services import post_approve, posting_opt_in_set
        from presence.suggestions import posts_suggest_week
        from salesdept import clock

        for item in DEMO_LIBRARY:
            ContentItem.objects.create(created_by=users["bob.manager@example.com"], **item)
        alice = users["alice.rep@example.com"]
        posting_opt_in_set(user=alice, on=True)
        now = clock.now()
        posts = posts_suggest_week(now=now)
        first = min(posts, key=lambda post: post.pk, default=None)
        if first is not None:
            yesterday = now - dt.timedelta(days=1)
            Post.objects.filter(pk=first.pk).update(campaign=campaign, publish_at=yesterday)
            post_approve(post=Post.objects.get(pk=first.pk), actor=alice, revision=first.revision)
            post_publish(post_id=first.pk, now=yesterday)
            posts_read_results(now=now)
        self.stdout.write(f"Content library of {len(DEMO_LIBRARY)} items, {len(posts)} post suggestions for Alice.")


DEMO_LIBRARY = [
    {
        "kind": ContentItem.Kind.CASE_STUDY,
        "title": "How Ledgerly closed its books in 4 days",
        "url": "https://example.com/case-studies/ledgerly",
        "summary": "Ledgerly moved month-end close onto one platform and stopped reconciling spreadsheets by hand.",
        "facts": ["Month-end close went from 9 days to 4", "Ledgerly runs 14 entities on it"],
        "industries": ["Fintech"],
    },
    {
        "kind": ContentItem.Kind.EVENT,
        "title": "FinTech Leaders Summit 2027",
        "url": "https://example.com/summit-2027",
        "summary": "A day in London on real-time finance, with a panel of finance leaders from European fintechs.",
        "facts": ["The Summit is in London on 12 March 2027"],
    },
    {
        "kind": ContentItem.Kind.ARTICLE,
        "title": "Five signs your forecast is out of date",
        "url": "https://example.com/blog/forecast-signs",
        "summary": "What finance teams notice first when a quarterly forecast no longer matches the business.",
        "facts": [],
    },
]
