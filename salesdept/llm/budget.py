"""The daily model budget: each call is reserved on one shared row before it is made.

Checking the day's spend once per batch let concurrent batches spend past it (a $0.50 budget
ran to $1.20). Here every call first adds its worst-case cost to the day's row, under the row's
lock and only while the row is below the budget (a batch takes its calls in one lock and one
UPDATE); the real cost replaces the reservation once the call is back. Workers on any machine
see the same row, so the budget is overshot by one call at most. A worker killed mid-call leaves
its reservation in place: the day ends a little early rather than over budget.
"""

import datetime as dt
import json
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from salesdept import clock
from salesdept.models import LLMBudgetDay, LLMCall
from salesdept.teamconfig import llm_config

logger = logging.getLogger(__name__)
MILLION = Decimal(1_000_000)
CHARS_PER_TOKEN = 3  # English runs nearer 4; erring high keeps the reservation above the bill
_warned: set[str] = set()


def price_of(model: str) -> tuple[Decimal, Decimal, bool]:
    """USD per million tokens in and out, and whether LLM_PRICES knows the model."""
    known = model in settings.LLM_PRICES
    if not known and model not in _warned:
        _warned.add(model)
        logger.warning(
            "The model %r has no price in LLM_PRICES: charging LLM_DEFAULT_PRICE %s per million tokens.",
            model,
            settings.LLM_DEFAULT_PRICE,
        )
    price_in, price_out = settings.LLM_PRICES[model] if known else settings.LLM_DEFAULT_PRICE
    return Decimal(str(price_in)), Decimal(str(price_out)), known


def cost_of(model: str, tokens_in: int, tokens_out: int) -> Decimal:
    price_in, price_out, _ = price_of(model)
    return ((price_in * tokens_in + price_out * tokens_out) / MILLION).quantize(Decimal("0.000001"))


def worst_cost(*, model: str, messages: list[dict], schema: dict, max_tokens: int) -> Decimal:
    """What one call may cost at most: the prompt (with its schema) and a full answer, twice (the repair)."""
    prompt = (len(json.dumps(messages)) + len(json.dumps(schema))) // CHARS_PER_TOKEN + 1
    return cost_of(model, 2 * prompt + max_tokens, 2 * max_tokens)


def spent_today(now: dt.datetime | None = None) -> Decimal:
    start = timezone.localtime(now or clock.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    return LLMCall.objects.filter(created_at__gte=start).aggregate(total=Sum("cost_usd"))["total"] or Decimal(0)


@dataclass(frozen=True)
class Reservation:
    day: dt.date
    amount: Decimal


def reserve_many(*, amounts: list[Decimal], now: dt.datetime | None = None) -> list[Reservation | None]:
    """Hold each amount in order while the day's row is still below the budget: one lock, one UPDATE.

    The same rule as a conditional UPDATE per call (the budget is overshot by one call at most),
    taken for a whole batch under the row's lock instead of a statement per call.
    """
    now = now or clock.now()
    day = timezone.localdate(now)
    budget = Decimal(str(llm_config().daily_budget_usd))
    with transaction.atomic():
        # A new day starts from what its calls already cost (calls logged before the row existed).
        LLMBudgetDay.objects.get_or_create(day=day, defaults={"committed_usd": spent_today(now)})
        committed = LLMBudgetDay.objects.select_for_update().values_list("committed_usd", flat=True).get(day=day)
        held = []
        for amount in amounts:
            held.append(Reservation(day, amount) if committed < budget else None)
            committed += amount if committed < budget else 0
        if taken := sum((r.amount for r in held if r is not None), Decimal(0)):
            LLMBudgetDay.objects.filter(day=day).update(committed_usd=F("committed_usd") + taken)
    return held


def settle_many(settled: list[tuple[Reservation, Decimal]]) -> None:
    """Replace each reservation by what its calls really cost: one UPDATE a day."""
    change: dict[dt.date, Decimal] = {}
    for reservation, cost in settled:
        change[reservation.day] = change.get(reservation.day, Decimal(0)) + cost - reservation.amount
    for day, amount in change.items():
        LLMBudgetDay.objects.filter(day=day).update(committed_usd=F("committed_usd") + amount)
