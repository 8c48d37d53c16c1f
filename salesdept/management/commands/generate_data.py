"""`manage.py generate_data --leads N`: realistic volumes for benchmarks and load tests.

Reps with accounts, campaigns, N leads spread over them and over a year, about five Activity
rows per lead along the funnel (found, qualified, allocated, drafted, approved, sending, sent,
accepted, replied, positive, rescored), a backlog of drafts waiting for approval, and the daily
counts rebuilt from it all. A million leads take minutes on PostgreSQL.
"""

import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from campaigns.models import Campaign, SequenceStep, TargetProfile
from leads.models import Activity, Lead
from outreach.models import OutreachMessage, SendingAccount
from reporting.metrics import metrics_rebuild
from salesdept.datagen import insert_series

# Of every 100 leads, how many reached each funnel event (the rest of a lead's five rows are
# timeline events the dashboard does not count).
FUNNEL = [
    ("lead.found", 100),
    ("lead.qualified", 70),
    ("lead.allocated", 62),
    ("message.drafted", 60),
    ("message.approved", 50),
    ("message.sending", 46),
    ("message.sent", 45),
    ("invite.accepted", 15),
    ("reply.received", 8),
    ("reply.positive", 3),
    ("lead.rescored", 41),
]
LABELS = ["Speaker", "Sponsor", "Other"]
VERSIONS = ["template", "gpt-4o-mini"]


def pick(values: list, n: str = "n") -> str:
    """An SQL expression choosing values[n % len(values)]."""
    cases = " ".join(f"WHEN {i} THEN {_sql(value)}" for i, value in enumerate(values))
    return f"(CASE ({n}) % {len(values)} {cases} END)"


def _sql(value) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


def days_ago(n: str = "n") -> str:
    """A time spread over the last year, as an SQL expression of the row number."""
    if connection.vendor == "postgresql":
        big = f"({n})::bigint"  # n * 104729 outgrows a 32-bit integer past n = 20,000
        return f"(NOW() - (({big} * 7919) % 365) * INTERVAL '1 day' - (({big} * 104729) % 86400) * INTERVAL '1 second')"
    return f"datetime('now', '-' || (({n} * 7919) % 365) || ' days', '-' || (({n} * 104729) % 86400) || ' seconds')"


def new_uuid() -> str:
    return "gen_random_uuid()" if connection.vendor == "postgresql" else "lower(hex(randomblob(16)))"


class Command(BaseCommand):
    help = "Generate realistic volumes: reps, accounts, campaigns, leads, activities, a queue, daily counts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--leads", type=int, default=10_000)
        parser.add_argument("--campaigns", type=int, default=20)
        parser.add_argument("--reps", type=int, default=10)
        parser.add_argument("--pending", type=int, default=10_000, help="Drafts waiting for approval")

    def handle(self, *args, leads: int, campaigns: int, reps: int, pending: int, **options) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from salesdept.roles import MANAGER, REP

        started = time.monotonic()
        users = get_user_model()
        run = int(time.time())
        with transaction.atomic():
            rep_group, _ = Group.objects.get_or_create(name=REP)
            Group.objects.get_or_create(name=MANAGER)
            rep_users = [
                users.objects.create_user(username=f"gen{run}-rep{i}@example.com", email=f"gen{run}-rep{i}@example.com")
                for i in range(reps)
            ]
            for user in rep_users:
                user.groups.add(rep_group)
            accounts = [
                SendingAccount.objects.create(name=f"{user.email} LinkedIn", owner=user, channel="sandbox")
                for user in rep_users
            ]
            target = TargetProfile.objects.create(name=f"Generated {run}", titles=["CFO"], industries=["Fintech"])
            made = []
            for i in range(campaigns):
                campaign = Campaign.objects.create(
                    name=f"Generated campaign {i + 1}", owner=rep_users[0], status="active", target=target
                )
                campaign.sending_accounts.set(accounts)
                SequenceStep.objects.create(campaign=campaign, order=1, kind="connection_note")
                made.append(campaign.pk)
            insert_series(
                Lead,
                leads,
                {
                    "first_name": "'Lead' || n",
                    "last_name": pick(["Okafor", "Lindqvist", "Patel", "García", "Müller", "Chen"]),
                    "position": pick(["Chief Financial Officer", "VP Finance", "Head of Finance"]),
                    "linkedin_url": f"'https://www.linkedin.com/in/gen-{run}-' || n",
                    "campaign_id": pick(made),
                    # Each campaign is worked by three reps, as teams are: not every rep on every campaign.
                    "owner_id": pick(
                        [user.pk for user in rep_users], f"((n % {campaigns}) * 3 + (n / {campaigns}) % 3)"
                    ),
                    "source": "'generated'",
                    "status": pick(["qualified", "contacted", "qualified", "replied", "new"]),
                    "label": pick(LABELS),
                    "score": "(n * 37) % 100",
                    "created_at": days_ago(),
                    "updated_at": days_ago(),
                },
            )
            last_lead = Lead.objects.order_by("-pk").values_list("pk", flat=True).first()
            offset = last_lead - leads  # the generated leads are offset + 1 .. offset + leads
            for verb, per_hundred in FUNNEL:
                insert_series(
                    Activity,
                    leads * per_hundred // 100,
                    {
                        "lead_id": f"({offset} + n)",
                        "campaign_id": pick(made),  # row n is about lead n, of campaign pick(made, n)
                        "verb": _sql(verb),
                        "created_at": days_ago(),
                    },
                )
            insert_series(
                OutreachMessage,
                min(pending, leads),
                {
                    "lead_id": f"({offset} + n)",
                    "campaign_id": pick(made),
                    "account_id": pick([account.pk for account in accounts]),
                    "kind": "'connection_note'",
                    "body": "'Hi, I enjoyed your post about forecasting. Would be glad to connect.'",
                    "generated_by": pick(VERSIONS),
                    "status": "'pending_approval'",
                    "idempotency_key": new_uuid(),
                    "created_at": days_ago(),
                    "updated_at": days_ago(),
                },
            )
        generated = time.monotonic() - started
        counts = metrics_rebuild()  # which analyzes the tables written above before it reads them
        self.stdout.write(
            f"Generated {leads:,} leads and {Activity.objects.filter(lead_id__gt=offset).count():,} activities "
            f"in {generated:.0f} s; rebuilt {counts['daily_counts']:,} daily counts in "
            f"{time.monotonic() - started - generated:.0f} s."
        )
