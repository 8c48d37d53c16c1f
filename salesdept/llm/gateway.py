"""One door to every model call: picks the backend, times the call, records it in LLMCall.

Only the offline template backend exists so far; the OpenAI-compatible backend plugs in
behind these same three functions.
"""

import datetime as dt
import time
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from salesdept.llm import template
from salesdept.llm.schemas import Brief, Classification, Draft, LeadFacts, ReplyAnalysis
from salesdept.models import LLMCall

Out = TypeVar("Out", bound=BaseModel)


def _call(purpose: str, produce: Callable[[], Out]) -> tuple[Out, LLMCall]:
    started = time.monotonic()
    result = produce()
    call = LLMCall.objects.create(
        purpose=purpose,
        backend=template.NAME,
        model=template.NAME,
        prompt_version=template.PROMPT_VERSION,
        latency_ms=int((time.monotonic() - started) * 1000),
        outcome=LLMCall.Outcome.OK,
    )
    return result, call


def classify_lead(*, lead: LeadFacts, brief: Brief) -> tuple[Classification, LLMCall]:
    return _call("qualify", lambda: template.classify(lead=lead, brief=brief))


def draft_message(
    *, lead: LeadFacts, brief: Brief, kind: str, step: int, instruction: str = ""
) -> tuple[Draft, LLMCall]:
    return _call("draft", lambda: template.draft(lead=lead, brief=brief, kind=kind, step=step, instruction=instruction))


def analyse_reply(*, text: str, today: dt.date) -> tuple[ReplyAnalysis, LLMCall]:
    return _call("analyse_reply", lambda: template.analyse(text=text, today=today))
