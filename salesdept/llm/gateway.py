"""One door to every model call: backend choice, budget, cache, concurrency, and the LLMCall log.

A call goes to the OpenAI-compatible server when a key is set, the day's budget has room for
it (reserved before the call, budget.py) and the answer is not cached; otherwise, or when the
server fails, the offline template answers and the result says so (`from_template`), so the
UI can label it.
"""

import contextvars
import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from pydantic import BaseModel

from salesdept.llm import budget, client
from salesdept.llm import template as template_backend
from salesdept.llm.budget import cost_of, spent_today
from salesdept.llm.client import Completion, LLMFailure
from salesdept.llm.schemas import strict_json_schema
from salesdept.models import LLMCall
from salesdept.teamconfig import llm_config, pinned

__all__ = ["Request", "Result", "batch_size", "cost_of", "run", "run_chains", "run_many", "spent_today"]

Out = TypeVar("Out", bound=BaseModel)


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

    @functools.cached_property
    def model(self) -> str:
        """The model for this request's purpose, read once: the check of the team's settings is a
        cache round trip, and a call asked for its model six times (a batch of 400 calls, 2,400 trips)."""
        return llm_config().model_for(self.purpose)

    def cache_key(self) -> str:
        schema = strict_json_schema(self.schema)  # a campaign's labels are part of its schema
        raw = json.dumps([self.model, self.prompt_version, schema, self.messages], sort_keys=True)
        return "llm:" + hashlib.sha256(raw.encode()).hexdigest()

    def worst_cost(self) -> Decimal:
        return budget.worst_cost(
            model=self.model, messages=self.messages, schema=strict_json_schema(self.schema), max_tokens=self.max_tokens
        )


@dataclass(frozen=True)
class Result(Generic[Out]):
    value: Out
    call: LLMCall
    from_template: bool

    @property
    def generated_by(self) -> str:
        """Who wrote the value, as pages and the dashboard name it: "template" or the model."""
        return template_backend.NAME if self.from_template else self.call.model


BUDGET_SPENT = "The day's LLM budget of ${:g} is spent."


def worst_item_seconds(calls_per_item: int) -> float:
    """How long an item's calls can take on a slow server: each times out, and so does its repair."""
    return settings.LLM_TIMEOUT_SECONDS * 2 * calls_per_item


def batch_size(*, calls_per_item: int, rounds: int | None = None) -> int:
    """Items per background task: `rounds` waves of the `client.concurrency()` items the server
    takes at once.

    By default as many waves as end inside the soft time limit when every call times out. A task
    that stops starting calls in time (run_chains' `start_by`) names its own.
    """
    if not llm_config().api_key:
        return 200  # the template answers in microseconds
    if rounds is None:
        rounds = max(1, int(settings.CELERY_TASK_SOFT_TIME_LIMIT // worst_item_seconds(calls_per_item)))
    return client.concurrency() * rounds


def _row(request: Request, **fields) -> LLMCall:
    if fields.get("tokens_in") or fields.get("tokens_out"):
        fields["price_known"] = budget.price_of(fields["model"])[2]
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


def _ask(request: Request, server: client.Server) -> tuple[Completion | LLMFailure, int]:
    return client.timed(
        lambda: client.structured(
            model=request.model,
            messages=request.messages,
            schema=request.schema,
            max_tokens=request.max_tokens,
            check=request.check,
            server=server,
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


Chain = tuple[Result, Result | None]


def run_chains(
    requests: Sequence[Request], then: FollowUp | None = None, *, start_by: float | None = None
) -> list[Chain | None]:
    """Every chain's answer, in the requests' order, once all have ended (run_chains_by_wave)."""
    answers: list[Chain | None] = [None] * len(requests)
    for wave in run_chains_by_wave(requests, then, start_by=start_by):
        for i, answer in wave:
            answers[i] = answer
    return answers


Wave = list[tuple[int, Chain | None]]


def run_chains_by_wave(
    requests: Sequence[Request], then: FollowUp | None = None, *, start_by: float | None = None
) -> Iterator[Wave]:
    """Answer every request, and each model answer's follow-up request (`then`) right after it;
    yield the chains (a request's index and its answer) a wave at a time as they end.

    Up to `client.concurrency()` chains run side by side, and a chain starts as soon as a slot is
    free; a follow-up starts as soon as its own first answer is back, not when the whole batch is.
    Template answers get no follow-up. Each chain's worst cost (its follow-up's counted as its first
    call's) is reserved on the day's budget before it starts; a chain the budget cannot take is
    answered by the template.

    A wave is the next `client.concurrency()` chains to end: its calls are logged, cached and
    settled on the budget before it is yielded, and the other chains keep running meanwhile, so a
    caller records a wave's results while the next wave is at the server.

    `start_by` (a `time.monotonic()` reading): a chain that would start later is not started and
    is None in the answer, so a batch ends inside its time limit on a slow server. The first
    `client.concurrency()` chains start whatever the time: a batch always makes progress.
    """
    if not requests:
        return
    with pinned():  # the team's settings read once for the batch, its threads included
        if not llm_config().api_key:  # no model configured: the template is the backend
            rows = [(request.fallback(), _template_row(request, LLMCall.Outcome.TEMPLATE)) for request in requests]
            yield list(enumerate((result, None) for result in _saved([(value, row, True) for value, row in rows])))
            return
        yield from _waves(requests, then, start_by)


def _waves(requests: Sequence[Request], then: FollowUp | None, start_by: float | None) -> Iterator[Wave]:
    keys = [request.cache_key() for request in requests]
    cached = cache.get_many([key for key, request in zip(keys, requests, strict=True) if request.use_cache])
    calls = [(key not in cached) + (then is not None) for key in keys]
    paying = [i for i, n in enumerate(calls) if n]
    reservations: list[budget.Reservation | None] = [None] * len(requests)
    held = budget.reserve_many(amounts=[requests[i].worst_cost() * calls[i] for i in paying]) if paying else []
    for i, reservation in zip(paying, held, strict=True):
        reservations[i] = reservation

    server = client.Server()
    width = min(client.concurrency(), len(requests))

    def chain(i: int):
        if start_by is not None and i >= width and time.monotonic() > start_by:
            return None
        request = requests[i]
        if keys[i] in cached:
            value = request.schema.model_validate(cached[keys[i]])
            first = (value, _row(request, backend="openai", model=request.model, cache_hit=True), False)
        elif reservations[i] is None:
            reason = BUDGET_SPENT.format(llm_config().daily_budget_usd)
            return (request.fallback(), _template_row(request, LLMCall.Outcome.FALLBACK, reason), True), None
        else:
            first = _answer(request, *_ask(request, server))
        follow = then(i, first[0]) if then is not None and not first[2] and reservations[i] else None
        return first, (follow, _answer(follow, *_ask(follow, server))) if follow is not None else None

    unsettled = set(range(len(requests)))

    def closed(ended: list[tuple[int, object]]) -> Wave:
        """Settle, cache and log the ended chains; a chain not started costs nothing."""
        unsettled.difference_update(i for i, _ in ended)
        budget.settle_many(
            [(reservations[i], _cost(done) if done else Decimal(0)) for i, done in ended if reservations[i]]
        )
        started = [(i, done) for i, done in ended if done is not None]
        cache.set_many(
            {
                keys[i]: first[0].model_dump(mode="json")
                for i, (first, _) in started
                if not first[2] and not first[1].cache_hit and requests[i].use_cache
            },
            timeout=settings.LLM_CACHE_SECONDS,
        )
        seconds = [second[1] for _, (_, second) in started if second is not None]
        results = iter(_saved([first for _, (first, _) in started] + seconds))
        firsts = {i: next(results) for i, _ in started}
        return [(i, (firsts[i], next(results) if second is not None else None)) for i, (_, second) in started] + [
            (i, None) for i, done in ended if done is None
        ]

    caller = contextvars.copy_context()  # the chains see what the caller pinned (teamconfig.pinned)
    with ThreadPoolExecutor(max_workers=width) as pool:
        futures = {pool.submit(caller.copy().run, chain, i): i for i in range(len(requests))}
        try:
            ended: list[tuple[int, object]] = []
            for future in as_completed(futures):
                ended.append((futures[future], future.result()))
                if len(ended) == width or len(ended) == len(unsettled):
                    wave, ended = closed(ended), []
                    yield wave
        finally:  # the caller stopped or a chain failed: start no more, log what ran, give back what did not
            pool.shutdown(cancel_futures=True)
            left = [(i, f) for f, i in futures.items() if i in unsettled and (f.cancelled() or not f.exception())]
            if left:
                closed([(i, None if f.cancelled() else f.result()) for i, f in left])


def _cost(chain) -> Decimal:
    """What a chain's calls cost (a chain as `chain` in run_chains answers it)."""
    first, second = chain
    return first[1].cost_usd + (second[1][1].cost_usd if second else 0)


def run_many(requests: Sequence[Request]) -> list[Result]:
    """Answer every request; model calls run side by side, up to `client.concurrency()` at once."""
    return [first for first, _ in run_chains(requests)]


def run(request: Request[Out]) -> Result[Out]:
    return run_many([request])[0]


def _saved(answers: list[tuple[BaseModel, LLMCall, bool]]) -> list[Result]:
    from reporting.metrics import metrics_record_llm_calls

    calls = LLMCall.objects.bulk_create([call for _, call, _ in answers])
    metrics_record_llm_calls(calls)
    return [Result(value, call, from_template) for (value, _, from_template), call in zip(answers, calls, strict=True)]
