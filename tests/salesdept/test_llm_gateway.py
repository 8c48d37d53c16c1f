"""The gateway through the real openai client against a local fake OpenAI-compatible server."""

import json
import time
from decimal import Decimal

import pytest

from leads.models import Lead
from leads.services import leads_qualify
from salesdept.llm.gateway import Request, cost_of, run, run_many
from salesdept.llm.schemas import Classification
from salesdept.models import LLMCall
from tests.factories import LeadFactory
from tests.fakes.openai_server import Error, Hang, Reply, json_reply

pytestmark = pytest.mark.django_db
GOOD = {"label": "Speaker", "confidence": 0.9, "insight": "Keynotes on fintech forecasting"}


def request(**kw) -> Request:
    return Request(
        purpose="qualify",
        schema=Classification,
        messages=[{"role": "system", "content": "s"}, {"role": "user", "content": kw.pop("text", "u")}],
        prompt_version="test-v1",
        fallback=lambda: Classification(label="Other", confidence=0.4, insight="template"),
        **kw,
    )


def test_it_parses_a_structured_answer_and_logs_the_call(llm):
    llm.queue(json_reply(GOOD, prompt_tokens=1000, completion_tokens=200))
    result = run(request())
    assert result.value == Classification(**GOOD)
    assert result.from_template is False
    call = LLMCall.objects.get()
    assert (call.backend, call.model, call.prompt_version, call.outcome) == ("openai", "gpt-4o-mini", "test-v1", "ok")
    assert (call.tokens_in, call.tokens_out) == (1000, 200)
    assert call.cost_usd == Decimal("0.000270")  # 1000 x $0.15/M + 200 x $0.60/M
    assert call.request_id.startswith("req_fake_")
    sent = llm.last_request["json"]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["response_format"]["json_schema"]["schema"]["additionalProperties"] is False


def test_it_repairs_one_invalid_answer(llm):
    llm.queue(Reply("Sure! Here is the JSON: {label: Speaker"), json_reply(GOOD))
    result = run(request())
    assert result.value.label == "Speaker"
    assert llm.count == 2
    repair = llm.last_request["json"]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! Here is the JSON: {label: Speaker"}
    assert "not valid" in repair[-1]["content"]
    call = LLMCall.objects.get()
    assert (call.outcome, call.tokens_in, call.tokens_out) == ("ok", 200, 100)  # both rounds are paid for
    assert call.error == "Repaired after one invalid answer."


def test_it_falls_back_to_the_template_after_a_failed_repair(llm):
    llm.queue(Reply("nope"), json_reply({"label": "Speaker"}))
    result = run(request())
    assert result.from_template is True
    assert result.value.insight == "template"
    call = LLMCall.objects.get()
    assert call.outcome == "invalid"
    assert call.error.startswith("Invalid answer after one repair: confidence: Field required")
    assert call.cost_usd == cost_of("gpt-4o-mini", 200, 100)  # the failed attempts still cost money


def test_an_extra_check_asks_for_a_repair(llm):
    def check(answer):
        if answer.label not in ("Speaker", "Sponsor"):
            raise ValueError("label must be Speaker or Sponsor")

    llm.queue(json_reply({**GOOD, "label": "Wizard"}), json_reply(GOOD))
    assert run(request(check=check)).value.label == "Speaker"
    assert "label must be Speaker or Sponsor" in llm.last_request["json"]["messages"][-1]["content"]


def test_a_rate_limit_is_retried_by_the_sdk(llm, settings):
    settings.LLM_MAX_RETRIES = 1
    from salesdept.llm import client

    client.reset()
    llm.queue(Error(429, "Slow down", type="rate_limit_error", headers={"retry-after-ms": "1"}), json_reply(GOOD))
    result = run(request())
    assert result.from_template is False
    assert llm.count == 2
    assert LLMCall.objects.get().outcome == "ok"


def test_a_timeout_falls_back_to_the_template(llm, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.5
    from salesdept.llm import client

    client.reset()
    llm.queue(Hang(3))
    started = time.monotonic()
    result = run(request())
    assert time.monotonic() - started < 2.5
    assert result.from_template is True
    call = LLMCall.objects.get()
    assert (call.outcome, call.backend) == ("error", "template")
    assert call.error == "No answer within 0.5 s (not re-sent)."


def test_a_server_error_falls_back_to_the_template(llm):
    llm.queue(Error(500))
    result = run(request())
    assert result.from_template is True
    assert LLMCall.objects.get().error == "The LLM server failed (500): The fake server was told to fail."


def test_a_wrong_key_falls_back_with_a_clear_reason(llm, settings):
    settings.OPENAI_API_KEY = "wrong"
    from salesdept.llm import client

    client.reset()
    result = run(request())
    assert result.from_template is True
    assert "check OPENAI_API_KEY" in LLMCall.objects.get().error


def test_a_spent_budget_sends_nothing_to_the_model(llm, settings):
    settings.LLM_DAILY_BUDGET_USD = 0.01
    LLMCall.objects.create(purpose="draft", backend="openai", model="gpt-4o-mini", prompt_version="x", cost_usd="0.01")
    result = run(request())
    assert result.from_template is True
    assert llm.count == 0
    call = LLMCall.objects.latest("pk")
    assert (call.outcome, call.cost_usd) == ("fallback", Decimal("0"))
    assert "budget of $0.01 is spent" in call.error


def test_a_cache_hit_costs_nothing(llm):
    llm.queue(json_reply(GOOD, prompt_tokens=1000, completion_tokens=200))
    first = run(request(text="same prompt"))
    second = run(request(text="same prompt"))
    assert second.value == first.value
    assert llm.count == 1
    hit = LLMCall.objects.latest("pk")
    assert (hit.cache_hit, hit.cost_usd, hit.tokens_in) == (True, Decimal("0"), 0)
    assert first.call.cost_usd > 0


def test_a_different_prompt_is_not_a_cache_hit(llm):
    llm.default = lambda body: json_reply(GOOD)
    run(request(text="one"))
    run(request(text="two"))
    assert llm.count == 2


def test_it_learns_which_structured_output_a_server_speaks(llm):
    llm.queue(Error(400, "response_format type json_schema is not supported", type="invalid_request_error"))
    llm.default = lambda body: json_reply(GOOD)
    assert run(request(text="a")).from_template is False
    second = llm.requests[1]["json"]
    assert second["response_format"]["type"] == "json_object"
    # The schema, in words and (for llama.cpp, which holds its output to it) beside the mode.
    assert '"additionalProperties": false' in second["messages"][-1]["content"]
    assert second["response_format"]["schema"]["additionalProperties"] is False
    run(request(text="b"))
    assert llm.last_request["json"]["response_format"]["type"] == "json_object"  # remembered
    assert llm.count == 3


def test_without_a_key_the_template_answers_and_says_so(settings, fake_openai):
    settings.OPENAI_API_KEY = ""
    result = run(request())
    assert result.from_template is True
    assert fake_openai.count == 0
    assert (result.call.outcome, result.call.model) == ("template", "template")


def test_a_batch_runs_side_by_side(llm, settings):
    settings.LLM_LOCAL_CONCURRENCY = 20  # the fake serves many at once, though it is on 127.0.0.1
    llm.delay = 0.5
    llm.default = lambda body: json_reply(GOOD)
    results = run_many([request(text=str(n)) for n in range(20)])
    assert len(results) == 20 and not any(r.from_template for r in results)
    # What the server saw, not a stopwatch (a busy machine would fail a timing): calls overlapped.
    assert llm.max_in_flight >= 10, f"at most {llm.max_in_flight} calls at once: they ran one after another"
    assert LLMCall.objects.filter(outcome="ok").count() == 20


def test_a_batch_starts_no_chain_after_its_time_and_gives_their_budget_back(llm, settings):
    """A batch must end inside its task's time limit: what it has not started by then goes back to the caller."""
    from salesdept.llm.gateway import run_chains
    from salesdept.models import LLMBudgetDay

    settings.LLM_LOCAL_CONCURRENCY = 2
    llm.default = lambda body: json_reply(GOOD, prompt_tokens=1000, completion_tokens=200)
    answers = run_chains([request(text=str(n)) for n in range(5)], start_by=time.monotonic() - 1)

    # The first wave starts whatever the time (a batch always makes progress); the rest do not.
    assert [answer is not None for answer in answers] == [True, True, False, False, False]
    assert [answer[0].value for answer in answers[:2]] == [Classification(**GOOD)] * 2
    assert llm.count == 2 and LLMCall.objects.count() == 2
    assert LLMBudgetDay.objects.get().committed_usd == 2 * Decimal("0.000270")  # the three held are given back


def test_a_batch_hands_back_each_wave_logged_and_paid_for_while_the_next_is_at_the_server(llm, settings):
    """A caller records a wave's answers while the model writes the next: nothing waits for the last call."""
    from salesdept.llm.gateway import run_chains_by_wave
    from salesdept.models import LLMBudgetDay

    settings.LLM_LOCAL_CONCURRENCY = 2
    llm.delay = 0.3
    llm.default = lambda body: json_reply(GOOD, prompt_tokens=1000, completion_tokens=200)
    seen = []
    for wave in run_chains_by_wave([request(text=str(n)) for n in range(5)]):
        seen.append(([i for i, _ in wave], llm.count, LLMCall.objects.count()))
        assert all(answer[0].value == Classification(**GOOD) for _, answer in wave)

    assert [len(indexes) for indexes, _, _ in seen] == [2, 2, 1]  # a wave is as wide as the calls at once
    assert sorted(i for indexes, _, _ in seen for i in indexes) == [0, 1, 2, 3, 4]
    assert seen[0][1] < 5  # the first wave came back before the last request was even sent
    assert [logged for _, _, logged in seen] == [2, 4, 5]  # each wave's calls logged before it is handed back
    assert LLMBudgetDay.objects.get().committed_usd == 5 * Decimal("0.000270")


def test_a_batch_its_caller_stops_logs_what_ran_and_gives_back_what_did_not(llm, settings):
    from salesdept.llm.gateway import run_chains_by_wave
    from salesdept.models import LLMBudgetDay

    settings.LLM_LOCAL_CONCURRENCY = 2
    llm.delay = 0.3
    llm.default = lambda body: json_reply(GOOD, prompt_tokens=1000, completion_tokens=200)
    waves = run_chains_by_wave([request(text=str(n)) for n in range(6)])
    next(waves)
    waves.close()  # the caller failed while recording the first wave

    assert 2 <= llm.count < 6  # the chains running finished; those waiting never started
    assert LLMCall.objects.count() == llm.count  # every call that ran is logged
    assert LLMBudgetDay.objects.get().committed_usd == llm.count * Decimal("0.000270")  # the rest given back


def test_qualification_sends_the_campaign_icp_and_flags_low_confidence(llm, campaign):
    llm.queue(json_reply({"label": "Sponsor", "confidence": 0.3, "insight": "Runs partnerships"}))
    lead = LeadFactory(campaign=campaign, status=Lead.Status.NEW, score=None)
    leads_qualify(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert (lead.label, lead.needs_review, lead.classified_by) == ("Sponsor", True, "gpt-4o-mini")
    prompt = llm.last_request["json"]["messages"][1]["content"]
    for title in campaign.target.titles:
        assert title in prompt  # the ICP reaches the model (providers.md §3)
    assert json.dumps(lead.first_name) in prompt
    call = LLMCall.objects.get()
    assert (call.lead_id, call.campaign_id, call.purpose) == (lead.pk, campaign.pk, "qualify")
