"""Reads for managers. The funnel counts people, from the Activity log."""

from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from campaigns.models import Campaign
from leads.models import Activity
from outreach.models import OutreachMessage, SendingAccount
from salesdept.models import LLMCall

FUNNEL = [
    ("Found", "lead.found"),
    ("Qualified", "lead.qualified"),
    ("Drafted", "message.drafted"),
    ("Approved", "message.approved"),
    ("Sent", "message.sent"),
    ("Replied", "reply.received"),
    ("Positive", "reply.positive"),
]


def funnel(*, campaign: Campaign | None = None) -> list[dict]:
    """People at each stage: distinct leads with that activity (one query)."""
    activities = Activity.objects.filter(verb__in=[verb for _, verb in FUNNEL])
    if campaign is not None:
        activities = activities.filter(campaign=campaign)
    counts = dict(activities.values("verb").annotate(people=Count("lead", distinct=True)).values_list("verb", "people"))
    return [{"stage": stage, "count": counts.get(verb, 0)} for stage, verb in FUNNEL]


def funnel_by_campaign() -> list[dict]:
    """One row per campaign with every stage (one query for all campaigns)."""
    rows = (
        Activity.objects.filter(verb__in=[verb for _, verb in FUNNEL], campaign__isnull=False)
        .values("campaign", "verb")
        .annotate(people=Count("lead", distinct=True))
    )
    counts = {(row["campaign"], row["verb"]): row["people"] for row in rows}
    return [
        {"campaign": campaign, "stages": [counts.get((campaign.pk, verb), 0) for _, verb in FUNNEL]}
        for campaign in Campaign.objects.order_by("name")
    ]


def backlog() -> dict:
    pending = OutreachMessage.objects.filter(status=OutreachMessage.Status.PENDING_APPROVAL)
    return {
        "pending": pending.count(),
        "unknown": OutreachMessage.objects.filter(status=OutreachMessage.Status.UNKNOWN).count(),
    }


def accounts_health() -> QuerySet[SendingAccount]:
    return SendingAccount.objects.select_related("owner").order_by("name")


def llm_costs(*, campaign: Campaign | None = None) -> dict:
    """What the model calls cost, in total and per lead (a lead's qualification, drafts, replies)."""
    calls = LLMCall.objects.all() if campaign is None else LLMCall.objects.filter(campaign=campaign)
    totals = calls.aggregate(
        total=Sum("cost_usd"), calls=Count("pk"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out")
    )
    by_lead = list(
        calls.filter(lead__isnull=False)
        .values("lead")
        .annotate(cost=Sum("cost_usd"), calls=Count("pk"))
        .order_by("lead")
    )
    total = totals["total"] or Decimal(0)
    return {
        "total": total,
        "calls": totals["calls"],
        "tokens_in": totals["tokens_in"] or 0,
        "tokens_out": totals["tokens_out"] or 0,
        "by_lead": by_lead,
        "per_lead": (total / len(by_lead)).quantize(Decimal("0.000001")) if by_lead else Decimal(0),
    }
