"""One door to every model call: backend choice, budget, cache, concurrency, and the LLMCall log.

A call goes to the OpenAI-compatible server when a key is set, the day's budget is not spent
and the answer is not cached; otherwise, or when the server fails, the offline template
answers and the result says so (`from_template`), so the UI can label it.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone
from pydantic import BaseModel

from salesdept import clock
from salesdept.llm import client
from salesdept.llm import template as template_backend
from salesdept.llm.client import Completion, LLMFailure
from salesdept.models import LLMCall

Out = TypeVar("Out", bound=BaseModel)
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Request(Generic[Out]):
    purpose: str
    schema: type[Out]
    messages: list[dict]
    prompt_version: str
    fallback: Callable[[], Out]  # the template's answer, when the model cannot give one
    check: Callable[[Out], None] | None = None  # extra validation; raise ValueError to ask for a repair
    max_tokens: int = 800
    lead_id: int | None = None
    campaign_id: int | None = None
    use_cache: bool = True  # False when the caller wants a new answer to the same prompt

    @property
    def model(self) -> str:
        return settings.LLM_MODELS.get(self.purpose, settings.LLM_MODEL)

    def cache_key(self) -> str:
        raw = json.dumps([self.model, self.prompt_version, self.schema.__name__, self.messages], sort_keys=True)
        return "llm:" + hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Result(Generic[Out]):
    value: Out
    call: LLMCall
    from_template: bool


def cost_of(model: str, tokens_in: int, tokens_out: int) -> Decimal:
    price_in, price_out = settings.LLM_PRICES.get(model, (0, 0))
    cost = (Decimal(str(price_in)) * tokens_in + Decimal(str(price_out)) * tokens_out) / MILLION
    return cost.quantize(Decimal("0.000001"))


def spent_today(now: dt.datetime | None = None) -> Decimal:
    start = timezone.localtime(now or clock.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    return LLMCall.objects.filter(created_at__gte=start).aggregate(total=Sum("cost_usd"))["total"] or Decimal(0)


def _template_only() -> tuple[str, str] | None:
    """(outcome, reason) when no call may go to the model today, else None."""
    if not settings.OPENAI_API_KEY:
        return LLMCall.Outcome.TEMPLATE, ""  # no model configured: the template is the backend
    if spent_today() >= Decimal(str(settings.LLM_DAILY_BUDGET_USD)):
        return LLMCall.Outcome.FALLBACK, f"The day's LLM budget of ${settings.LLM_DAILY_BUDGET_USD:g} is spent."
    return None


def _row(request: Request, **fields) -> LLMCall:
    return LLMCall(
        purpose=request.purpose,
        prompt_version=request.prompt_version,
        lead_id=request.lead_id,
        campaign_id=request.campaign_id,
        **fields,
    )


def _template_row(request: Request, outcome: str, reason: str = "", failure: LLMFailure | None = None) -> LLMCall:
    """The log row of an answer the template gave; a failed model call still costs its tokens."""
    tokens_in, tokens_out = (failure.tokens_in, failure.tokens_out) if failure else (0, 0)
    return _row(
        request,
        backend=template_backend.NAME,
        model=request.model if failure else template_backend.NAME,
        outcome=outcome,
        error=reason,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost_of(request.model, tokens_in, tokens_out),
    )


def _ask(request: Request) -> tuple[Completion | LLMFailure, int]:
    return client.timed(
        lambda: client.structured(
            model=request.model,
            messages=request.messages,
            schema=request.schema,
            max_tokens=request.max_tokens,
            check=request.check,
        )
    )


def _answer(request: Request, outcome: Completion | LLMFailure, latency: int) -> tuple[BaseModel, LLMCall, bool]:
    """The value, its log row and whether the template gave it, for one finished model call."""
    if isinstance(outcome, LLMFailure):
        kind = LLMCall.Outcome.INVALID if outcome.kind == "invalid" else LLMCall.Outcome.ERROR
        row = _template_row(request, kind, str(outcome), failure=outcome)
        row.latency_ms = latency
        return request.fallback(), row, True
    row = _row(
        request,
        backend="openai",
        model=request.model,
        tokens_in=outcome.tokens_in,
        tokens_out=outcome.tokens_out,
        cost_usd=cost_of(request.model, outcome.tokens_in, outcome.tokens_out),
        latency_ms=latency,
        request_id=outcome.request_id,
        error="Repaired after one invalid answer." if outcome.repaired else "",
    )
    return outcome.value, row, False


FollowUp = Callable[[int, BaseModel], Request | None]


def run_chains(requests: Sequence[Request], then: FollowUp | None = None) -> list[tuple[Result, Result | None]]:
    """Answer every request, and each model answer's follow-up request (`then`) right after it.

    Up to LLM_CONCURRENCY chains run side by side; a follow-up starts as soon as its own first
    answer is back, not when the whole batch is. Template answers get no follow-up.
    """
    if not requests:
        return []
    if template_only := _template_only():
        outcome, reason = template_only
        rows = [(request.fallback(), _template_row(request, outcome, reason), True) for request in requests]
        return [(result, None) for result in _saved(rows)]

    keys = [request.cache_key() for request in requests]
    cached = cache.get_many([key for key, request in zip(keys, requests, strict=True) if request.use_cache])

    def chain(i: int):
        request = requests[i]
        if keys[i] in cached:
            value = request.schema.model_validate(cached[keys[i]])
            first = (value, _row(request, backend="openai", model=request.model, cache_hit=True), False)
        else:
            first = _answer(request, *_ask(request))
        follow = then(i, first[0]) if then is not None and not first[2] else None
        return first, (follow, _answer(follow, *_ask(follow))) if follow is not None else None

    with ThreadPoolExecutor(max_workers=min(settings.LLM_CONCURRENCY, len(requests))) as pool:
        chains = list(pool.map(chain, range(len(requests))))
    cache.set_many(
        {
            keys[i]: first[0].model_dump(mode="json")
            for i, (first, _) in enumerate(chains)
            if not first[2] and not first[1].cache_hit and requests[i].use_cache
        },
        timeout=settings.LLM_CACHE_SECONDS,
    )
    results = _saved([first for first, _ in chains] + [second[1] for _, second in chains if second is not None])
    firsts, seconds = iter(results[: len(chains)]), iter(results[len(chains) :])
    return [(next(firsts), next(seconds) if second is not None else None) for _, second in chains]


def run_many(requests: Sequence[Request]) -> list[Result]:
    """Answer every request; model calls run side by side, up to LLM_CONCURRENCY at once."""
    return [first for first, _ in run_chains(requests)]


def run(request: Request[Out]) -> Result[Out]:
    return run_many([request])[0]


def _saved(answers: list[tuple[BaseModel, LLMCall, bool]]) -> list[Result]:
    from reporting.metrics import metrics_record_llm_calls

    calls = LLMCall.objects.bulk_create([call for _, call, _ in answers])
    metrics_record_llm_calls(calls)
    return [Result(value, call, from_template) for (value, _, from_template), call in zip(answers, calls, strict=True)]
