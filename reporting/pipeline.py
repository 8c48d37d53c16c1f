"""The pipeline's money: deals open by stage now, and deals won and lost in a period.

How many people reached a meeting or a win, and the conversion from reply to meeting to won,
are funnel stages read from the daily counts like every other (reporting.selectors.Counts).
What the counts do not hold (a deal's value and currency, the stage it is at now, why it was
lost, how long it took) is read from the deals: two aggregate queries and the stages' list,
whatever the number of deals.

Money is per currency, always: {"EUR": Decimal, "USD": Decimal}. Amounts in different currencies
are never added; `money_text` is the one way they are written.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils import timezone

from deals.models import Deal, DealStage

CENT = Decimal("0.01")
TOP_REASONS = 5  # the lost reasons shown; the rest are counted as "other reasons"
Outcome = DealStage.Outcome


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period's inclusive local dates as [from, until) instants: the daily counts' days."""
    zone = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return since, until


def _deals(*, campaign_id: int | None, rep_id: int | None) -> QuerySet[Deal]:
    deals = Deal.objects.all()
    if campaign_id:
        deals = deals.filter(campaign_id=campaign_id)
    if rep_id:
        deals = deals.filter(owner_id=rep_id)
    return deals


def _add(into: dict, currency: str, amount: Decimal | None) -> None:
    into[currency] = into.get(currency, Decimal(0)) + (amount or Decimal(0))


def _sorted(amounts: dict) -> dict:
    return {currency: amounts[currency].quantize(CENT) for currency in sorted(amounts)}


def weighted(value: Decimal, probability: int) -> Decimal:
    """A stage's value times its probability of closing won."""
    return (value * probability / 100).quantize(CENT)


def open_by_stage(*, campaign_id: int | None = None, rep_id: int | None = None) -> dict:
    """Deals open now at each open stage: count, value and weighted value per currency (two queries).

    {"stages": [{"id", "name", "probability", "deals", "counts", "value", "weighted"}], "total": {"deals",
    "value", "weighted"}}; `counts` is deals per currency. Every active open stage is listed, with 0
    when empty; an inactive one only while deals still sit there.
    """
    rows = (
        _deals(campaign_id=campaign_id, rep_id=rep_id)
        .filter(closed_at__isnull=True)
        .values("stage_id", "currency")
        .annotate(n=Count("pk"), value=Sum("value"))
        .order_by()
    )
    per_stage: dict[int, list] = defaultdict(list)
    for row in rows:
        per_stage[row["stage_id"]].append(row)
    stages = DealStage.objects.filter(Q(is_active=True) | Q(pk__in=list(per_stage)), outcome=Outcome.OPEN)
    total = {"deals": 0, "value": {}, "weighted": {}}
    out = []
    for stage in stages:
        value, weight, counts, n = {}, {}, {}, 0
        for row in per_stage.get(stage.pk, []):
            n += row["n"]
            counts[row["currency"]] = counts.get(row["currency"], 0) + row["n"]
            _add(value, row["currency"], row["value"])
            _add(weight, row["currency"], weighted(row["value"] or Decimal(0), stage.probability))
        for currency in value:
            _add(total["value"], currency, value[currency])
            _add(total["weighted"], currency, weight[currency])
        total["deals"] += n
        out.append(
            {
                "id": stage.pk,
                "name": stage.name,
                "probability": stage.probability,
                "deals": n,
                "counts": {currency: counts[currency] for currency in sorted(counts)},
                "value": _sorted(value),
                "weighted": _sorted(weight),
            }
        )
    total["value"], total["weighted"] = _sorted(total["value"]), _sorted(total["weighted"])
    return {"stages": out, "total": total}


def closed_in(
    *, start: dt.date, end: dt.date, campaign_id: int | None = None, rep_id: int | None = None
) -> dict[str, dict]:
    """Deals closed won and lost in the period (one query): per outcome, how many, their value per
    currency, the average days from opening to closing, and for lost deals the top reasons.

    {"won": {"deals", "counts", "value", "avg_days"}, "lost": {…, "reasons": [{"reason", "deals"}], "other_reasons"}}
    """
    since, until = period_bounds(start, end)
    took = ExpressionWrapper(F("closed_at") - F("opened_at"), output_field=DurationField())
    rows = (
        _deals(campaign_id=campaign_id, rep_id=rep_id)
        .filter(closed_at__gte=since, closed_at__lt=until)
        .exclude(stage__outcome=Outcome.OPEN)
        .values("stage__outcome", "currency", "lost_reason")
        .annotate(n=Count("pk"), value=Sum("value"), took=Sum(took))
        .order_by()
    )
    out = {
        outcome: {"deals": 0, "counts": defaultdict(int), "value": {}, "took": dt.timedelta(0)}
        for outcome in (Outcome.WON, Outcome.LOST)
    }
    reasons: dict[str, int] = defaultdict(int)
    for row in rows:
        closed = out[row["stage__outcome"]]
        closed["deals"] += row["n"]
        closed["counts"][row["currency"]] += row["n"]
        closed["took"] += row["took"] or dt.timedelta(0)
        _add(closed["value"], row["currency"], row["value"])
        if row["stage__outcome"] == Outcome.LOST:
            reasons[row["lost_reason"] or "No reason given"] += row["n"]
    for closed in out.values():
        took_total = closed.pop("took")
        closed["value"] = _sorted(closed["value"])
        closed["counts"] = {currency: closed["counts"][currency] for currency in sorted(closed["counts"])}
        closed["avg_days"] = round(took_total.total_seconds() / 86400 / closed["deals"], 1) if closed["deals"] else None
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0].lower()))
    out[Outcome.LOST]["reasons"] = [{"reason": reason, "deals": n} for reason, n in ranked[:TOP_REASONS]]
    out[Outcome.LOST]["other_reasons"] = sum(n for _, n in ranked[TOP_REASONS:])
    return {str(outcome): closed for outcome, closed in out.items()}


def pipeline(*, start: dt.date, end: dt.date, campaign_id: int | None = None, rep_id: int | None = None) -> dict:
    """Open deals by stage now and the deals closed in the period, for the filters (three queries)."""
    return {
        "open": open_by_stage(campaign_id=campaign_id, rep_id=rep_id),
        **closed_in(start=start, end=end, campaign_id=campaign_id, rep_id=rep_id),
    }


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def money_text(amounts: dict, *, none: str = "–", sep: str = " · ") -> str:
    """Amounts per currency as one text, each with its code: "12,000.00 EUR · 5,000.00 USD"."""
    return sep.join(money(Decimal(str(amount)), currency) for currency, amount in amounts.items()) or none
