"""The daily model budget under real concurrency on PostgreSQL: eight workers' batches at once.

Checked once per batch, a $0.50 budget ran to $1.20 (issue #15). Each call is now reserved on the
day's row before it is made, so however the batches overlap, calls stop at the budget.
"""

from decimal import Decimal

import pytest

from salesdept.llm import client
from salesdept.llm.gateway import Request, run_many
from salesdept.llm.schemas import Classification
from salesdept.models import LLMBudgetDay, LLMCall
from tests.fakes.openai_server import json_reply
from tests.integration.test_concurrency import THREADS, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
GOOD = {"label": "Speaker", "confidence": 0.9, "insight": "Keynotes on fintech forecasting"}


def request(text: str) -> Request:
    return Request(
        purpose="qualify",
        schema=Classification,
        messages=[{"role": "system", "content": "s"}, {"role": "user", "content": text}],
        prompt_version="test-v1",
        fallback=lambda: Classification(label="Other", confidence=0.4, insight="template"),
    )


def test_concurrent_batches_never_pass_the_budget_by_more_than_one_call(llm, settings):
    settings.LLM_LOCAL_CONCURRENCY = 4  # the fake serves in parallel: let the batches overlap there too
    client.reset()
    llm.default = lambda body: json_reply(GOOD, prompt_tokens=400, completion_tokens=100)
    worst = request("00-0").worst_cost()
    settings.LLM_DAILY_BUDGET_USD = float(worst * Decimal("5.5"))

    batches = run_together(THREADS, lambda i: run_many([request(f"{i:02}-{n}") for n in range(4)]))

    results = [result for batch in batches for result in batch]
    made = [result for result in results if not result.from_template]
    assert llm.count == len(made) == 6  # reservations at 0..5 worst costs were under the budget; none after
    assert len(results) - len(made) == 26
    spent = sum(call.cost_usd for call in LLMCall.objects.all())
    one_call = max(call.cost_usd for call in LLMCall.objects.all())
    assert spent <= Decimal(str(settings.LLM_DAILY_BUDGET_USD)) + one_call
    assert LLMBudgetDay.objects.get().committed_usd == spent  # every reservation settled to its bill
