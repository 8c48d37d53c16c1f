"""The gateway against real servers' habits (issue #15): llama.cpp, a slow one-at-a-time server,
garbage, flaky and rate-limited answers. Real HTTP to the in-repo fake; requests are counted there.
"""

import json
import logging
import multiprocessing
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.cache import cache

from leads.models import ImportJob, Lead
from leads.services import leads_qualify
from salesdept import slots
from salesdept.llm import budget, client
from salesdept.llm.gateway import Request, run, run_many
from salesdept.llm.schemas import Classification, ReplyAnalysis
from salesdept.models import LLMBudgetDay, LLMCall
from tests.conftest import login
from tests.factories import LeadFactory
from tests.fakes.openai_server import (
    LLAMA_CPP_SCHEMA_ERROR,
    Error,
    FakeOpenAI,
    echo_instructions,
    flaky,
    garbage,
    huge,
    json_reply,
)
from tests.integration.conftest import database_url_for_worker

pytestmark = pytest.mark.django_db
GOOD = {"label": "Speaker", "confidence": 0.9, "insight": "Keynotes on fintech forecasting"}


def request(text: str = "u", **kw) -> Request:
    return Request(
        purpose="qualify",
        schema=Classification,
        messages=[{"role": "system", "content": "s"}, {"role": "user", "content": text}],
        prompt_version="test-v1",
        fallback=lambda: Classification(label="Other", confidence=0.4, insight="template"),
        **kw,
    )


@pytest.fixture
def llama(settings):
    """A llama.cpp-like server: 500 on json_schema, only max_tokens honoured, one request at a time."""
    with FakeOpenAI(llama_cpp=True) as fake:
        settings.OPENAI_API_KEY = "test-key"
        settings.LLM_BASE_URL = fake.base_url
        settings.LLM_MAX_RETRIES = 2  # the default: a 500 naming response_format must still not be retried
        settings.LLM_TIMEOUT_SECONDS = 5.0
        client.reset()
        yield fake
        client.reset()


# Structured-output modes -------------------------------------------------------------------------------


def test_it_steps_down_from_json_schema_on_llama_cpps_500_once_without_retrying_it(llama):
    llama.default = lambda body: json_reply(GOOD)

    assert run(request("a")).from_template is False
    assert run(request("b")).from_template is False

    formats = [r["json"].get("response_format", {}).get("type") for r in llama.requests]
    assert formats == ["json_schema", "json_object", "json_object"]  # no SDK re-send of the 500
    assert '"enum": ["Speaker"' not in llama.requests[1]["json"]["messages"][-1]["content"]  # a plain schema here
    assert '"additionalProperties": false' in llama.requests[1]["json"]["messages"][-1]["content"]


def test_a_long_answer_field_does_not_break_llama_cpps_grammar(llama):
    # ReplyAnalysis.suggested_reply allows 2,000 characters: as a grammar bound llama.cpp drops the call.
    analysis = {
        "sentiment": "positive",
        "intent": "interested",
        "key_facts": [],
        "confidence": 0.9,
        "snooze_until": None,
        "referral_name": "",
        "suggested_reply": "Hi Lena, thank you.",
    }
    llama.default = lambda body: json_reply(analysis)
    result = run(
        Request(
            purpose="analyse_reply",
            schema=ReplyAnalysis,
            messages=[{"role": "user", "content": "r"}],
            prompt_version="t",
            fallback=lambda: None,
        )
    )
    assert result.from_template is False and result.value.intent == "interested"
    sent = llama.last_request["json"]["response_format"]
    assert sent["type"] == "json_object" and "maxLength" not in json.dumps(sent["schema"])
    assert sent["schema"]["properties"]["intent"]["enum"]  # the closed sets stay in the grammar


def test_json_object_refused_too_steps_down_to_the_schema_in_the_prompt(llm):
    llm.queue(
        Error(500, LLAMA_CPP_SCHEMA_ERROR),
        Error(400, "response_format json_object is not supported by this model", type="invalid_request_error"),
    )
    llm.default = lambda body: json_reply(GOOD)

    assert run(request()).from_template is False

    last = llm.last_request["json"]
    assert "response_format" not in last
    assert "matching this JSON schema" in last["messages"][-1]["content"]


def test_a_batch_looks_up_the_servers_mode_once_and_its_calls_keep_what_one_learnt(llama, settings, monkeypatch):
    settings.LLM_LOCAL_CONCURRENCY = 1  # llama.cpp's one slot: the batch's calls follow one another
    llama.default = lambda body: json_reply(GOOD)
    looks = []
    monkeypatch.setattr(client, "mode_for", lambda *args, lookup=client.mode_for: looks.append(args) or lookup(*args))

    results = run_many([request(f"lead {n}") for n in range(4)])

    assert [r.from_template for r in results] == [False] * 4
    assert len(looks) == 1  # not once per call: each look is a round trip to the shared cache
    sent = [r["json"].get("response_format", {}).get("type") for r in llama.requests]
    assert sent == ["json_schema", "json_object", "json_object", "json_object", "json_object"]  # refused once


@pytest.mark.postgres  # the other process reads the team's settings from the test database
def test_the_learnt_mode_is_shared_with_other_worker_processes(llama):
    llama.default = lambda body: json_reply(GOOD)
    other_worker = (
        "import django; django.setup()\n"
        "from salesdept.llm import client\n"
        "from salesdept.llm.schemas import Classification\n"
        "client.structured(model='gpt-4o-mini', schema=Classification, "
        "messages=[{'role': 'user', 'content': 'other process'}])\n"
    )
    env = {**os.environ, "OPENAI_API_KEY": "test-key", "LLM_BASE_URL": llama.base_url, "LLM_MAX_RETRIES": "2"}
    env["DATABASE_URL"] = database_url_for_worker()  # a worker reads the team's configuration (/settings/) there
    subprocess.run([sys.executable, "-c", other_worker], env=env, check=True, timeout=60)
    assert llama.count == 2  # it learnt: json_schema refused, json_object worked

    assert run(request()).from_template is False

    assert llama.count == 3
    assert llama.last_request["json"]["response_format"]["type"] == "json_object"  # learnt once, for both


def test_a_forced_mode_is_used_from_the_first_call(llama, settings):
    settings.LLM_STRUCTURED_MODE = "prompt"
    llama.default = lambda body: json_reply(GOOD)
    assert run(request()).from_template is False
    assert llama.count == 1 and "response_format" not in llama.last_request["json"]


# Token limits, errors, retries ----------------------------------------------------------------------------


def test_it_sends_max_tokens_so_a_llama_server_stops_a_runaway_answer(llama, settings):
    settings.LLM_STRUCTURED_MODE = "json_object"
    llama.default = lambda body: huge(200_000, prompt_tokens=120)

    result = run(request(max_tokens=300))

    assert [(r["json"]["max_tokens"], r["json"]["max_completion_tokens"]) for r in llama.requests] == [(300, 300)] * 2
    assert result.from_template is True  # cut at 300 tokens, the JSON never closes: refused, repaired, refused
    call = LLMCall.objects.get()
    assert (call.outcome, call.tokens_in, call.tokens_out) == ("invalid", 240, 600)  # both attempts, as billed
    assert call.cost_usd > 0


def test_the_servers_own_message_is_stored_and_shown_in_admin(llm, client, carol):
    llm.queue(Error(503, "Loading model smollm2-135m, try again in a moment", type="unavailable_error"))

    assert run(request()).from_template is True

    call = LLMCall.objects.get()
    assert call.error == "The LLM server failed (503): Loading model smollm2-135m, try again in a moment"
    page = login(client, carol).get("/admin/salesdept/llmcall/")
    assert "Loading model smollm2-135m" in page.text


def test_a_429_and_a_500_are_retried_with_backoff(llm, settings):
    settings.LLM_MAX_RETRIES = 2
    llm.queue(Error(429, "Slow down", type="rate_limit_error", headers={"retry-after-ms": "10"}), Error(500, "hiccup"))
    llm.default = lambda body: json_reply(GOOD)

    result = run(request())

    assert result.from_template is False
    assert llm.count == 3  # 429, 500, answer


def test_a_flaky_server_costs_a_retry_not_an_answer(llm, settings):
    settings.LLM_MAX_RETRIES = 1
    llm.default = flaky(lambda body: json_reply(GOOD), every=2)

    results = run_many([request(str(n)) for n in range(4)])

    assert not any(result.from_template for result in results)
    assert llm.count == 7  # one at a time (a local server): ok, then three times a 500 and its retry


def test_a_429_asking_for_a_long_wait_goes_to_the_template_at_once(llm, settings):
    settings.LLM_MAX_RETRIES = 2
    llm.queue(Error(429, "Rate limit reached for requests", type="rate_limit_error", headers={"retry-after": "120"}))

    result = run(request())

    assert result.from_template is True and llm.count == 1
    assert LLMCall.objects.get().error == "The LLM server is rate limiting us: Rate limit reached for requests"


def test_tokens_of_a_failed_repair_are_recorded(llm):
    llm.queue(garbage(seed=1, prompt_tokens=700, completion_tokens=90), Error(500, "out of memory"))

    result = run(request())

    assert result.from_template is True
    call = LLMCall.objects.get()
    assert (call.outcome, call.tokens_in, call.tokens_out) == ("error", 700, 90)
    assert call.cost_usd == budget.cost_of("gpt-4o-mini", 700, 90) > 0
    assert call.error == "The LLM server failed (500): out of memory"


def test_echoed_instructions_are_refused_and_the_template_answers(llm):
    llm.default = echo_instructions

    result = run(request("Classify this lead."))

    assert result.from_template is True and llm.count == 2
    assert LLMCall.objects.get().outcome == "invalid"


# Concurrency ---------------------------------------------------------------------------------------------


def test_the_concurrency_cap_keeps_a_one_at_a_time_server_inside_its_timeout(llama, settings):
    settings.LLM_STRUCTURED_MODE, settings.LLM_TIMEOUT_SECONDS = "json_object", 1.0
    llama.delay = 0.3
    llama.default = lambda body: json_reply(GOOD)

    results = run_many([request(str(n)) for n in range(6)])  # 1.8 s of work: more than the timeout

    assert not any(result.from_template for result in results)
    assert llama.count == 6 and llama.max_in_flight == 1


def test_without_the_cap_calls_queue_past_the_timeout_and_are_never_resent(llama, settings):
    settings.LLM_STRUCTURED_MODE, settings.LLM_TIMEOUT_SECONDS = "json_object", 1.0
    settings.LLM_LOCAL_CONCURRENCY = 6  # as if LLM_CONCURRENCY=100 applied to a local server
    client.reset()
    llama.delay = 0.3
    llama.default = lambda body: json_reply(GOOD)

    results = run_many([request(str(n)) for n in range(6)])

    timed_out = [r for r in results if r.from_template]
    assert len(timed_out) >= 2
    assert {r.call.error for r in timed_out} == {"No answer within 1 s (not re-sent)."}
    assert llama.count == 6  # LLM_MAX_RETRIES=2, yet nothing was sent twice


def _ask_three_times(results) -> None:
    client.reset()  # this process's own client and connections, as a worker process builds after fork
    for n in range(3):
        try:
            messages = [{"role": "user", "content": str(n)}]
            client.structured(model="gpt-4o-mini", schema=Classification, messages=messages)
            results.put("answered")
        except client.LLMFailure as exc:
            results.put(exc.kind)


def test_a_local_servers_cap_holds_for_the_worker_processes_together(llama, settings):
    settings.LLM_STRUCTURED_MODE = "json_object"
    llama.delay = 0.2
    llama.default = lambda body: json_reply(GOOD)
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    workers = [fork.Process(target=_ask_three_times, args=(results,)) for _ in range(3)]

    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert [results.get(timeout=5) for _ in range(9)] == ["answered"] * 9
    assert llama.count == 9 and llama.max_in_flight == 1  # three processes, one call at a time between them


def test_a_call_that_finds_no_place_at_a_local_server_within_its_timeout_is_not_sent(llama, settings):
    settings.LLM_STRUCTURED_MODE, settings.LLM_TIMEOUT_SECONDS = "json_object", 1.5
    llama.default = lambda body: json_reply(GOOD)
    fork = multiprocessing.get_context("fork")
    holding, release = fork.Event(), fork.Event()
    server = client.Server().url

    def other_worker_calling() -> None:  # holds the server's one place, as a long call would
        with slots.slot(f"llm:{server}", size=1, wait=5, hold=60):
            holding.set()
            release.wait(30)

    other = fork.Process(target=other_worker_calling)
    other.start()
    assert holding.wait(10)
    try:
        result = run(request())
    finally:
        release.set()
        other.join(timeout=10)

    assert result.from_template is True and llama.count == 0  # nothing sent past its time
    assert LLMCall.objects.get().error == "The model server stayed busy with other calls for 1.5 s: not sent."


def test_without_the_queue_of_calls_to_a_local_server_nothing_is_sent(llama, settings, tmp_path):
    settings.LLM_STRUCTURED_MODE, settings.REDIS_URL = "json_object", ""
    settings.VAR_DIR = tmp_path / "a file"  # the queue's directory cannot be made
    settings.VAR_DIR.write_text("")
    llama.default = lambda body: json_reply(GOOD)

    result = run(request())

    assert result.from_template is True and llama.count == 0
    assert LLMCall.objects.get().error.startswith("The queue of calls to the model server is unreachable")


def test_a_local_server_gets_a_small_cap_and_a_remote_api_llm_concurrency(settings):
    settings.LLM_CONCURRENCY, settings.LLM_LOCAL_CONCURRENCY = 50, 2
    for url, cap in [
        ("http://127.0.0.1:8080/v1", 2),
        ("http://localhost:11434/v1", 2),
        ("http://192.168.1.20:8000/v1", 2),
        ("http://ollama:11434/v1", 2),
        ("https://api.openai.com/v1", 50),
        ("https://openrouter.ai/api/v1", 50),
    ]:
        settings.LLM_BASE_URL = url
        assert client.concurrency() == cap, url


def test_the_admin_can_say_whether_the_server_is_local_when_its_address_misleads(settings):
    settings.LLM_CONCURRENCY, settings.LLM_LOCAL_CONCURRENCY = 50, 2
    settings.LLM_BASE_URL, settings.LLM_SERVER_IS_LOCAL = "http://litellm:4000/v1", "false"  # a gateway to an API
    assert client.concurrency() == 50
    settings.LLM_BASE_URL, settings.LLM_SERVER_IS_LOCAL = "https://gpu.example.com/v1", "true"  # one GPU of ours
    assert client.concurrency() == 2


# Money -----------------------------------------------------------------------------------------------------


def test_the_budget_is_reserved_per_call_and_a_batch_stops_at_it(llm, settings):
    llm.default = lambda body: json_reply(GOOD, prompt_tokens=50, completion_tokens=20)
    worst = request("0").worst_cost()
    settings.LLM_DAILY_BUDGET_USD = float(worst * Decimal("3.5"))

    results = run_many([request(str(n)) for n in range(10)])

    assert llm.count == 4  # reserved at 0, 1, 2 and 3 reservations' worth: under the budget each time
    spent = [r for r in results if r.from_template]
    assert len(spent) == 6
    assert {r.call.error for r in spent} == {f"The day's LLM budget of ${settings.LLM_DAILY_BUDGET_USD:g} is spent."}
    day = LLMBudgetDay.objects.get()
    assert day.committed_usd == sum(call.cost_usd for call in LLMCall.objects.all()) > 0  # settled to the bill


def test_an_unpriced_model_is_charged_the_default_price_and_says_so_once(llm, settings, caplog):
    settings.LLM_MODELS, settings.LLM_MODEL = {}, "smollm2-135m"
    settings.LLM_DEFAULT_PRICE = [1.0, 2.0]
    budget._warned.discard("smollm2-135m")
    llm.default = lambda body: json_reply(GOOD, prompt_tokens=1000, completion_tokens=500)

    with caplog.at_level(logging.WARNING, logger="salesdept.llm.budget"):
        run_many([request("a"), request("b")])

    calls = list(LLMCall.objects.all())
    assert [(c.model, c.price_known, c.cost_usd) for c in calls] == [("smollm2-135m", False, Decimal("0.002"))] * 2
    assert [r.message for r in caplog.records].count(
        "The model 'smollm2-135m' has no price in LLM_PRICES: charging LLM_DEFAULT_PRICE [1.0, 2.0] per million tokens."
    ) == 1


# Qualification ---------------------------------------------------------------------------------------------


def test_an_invented_label_or_a_confidence_of_8_5_is_refused_by_the_schema(llm, campaign):
    lead = LeadFactory(campaign=campaign, status=Lead.Status.NEW, score=None, label="", insight="")
    wrong = {"label": "Keynote Wizard", "confidence": 8.5, "insight": "Talks a lot"}
    llm.queue(json_reply(wrong), json_reply(wrong))

    leads_qualify(lead_ids=[lead.pk])

    schema = llm.requests[0]["json"]["response_format"]["json_schema"]["schema"]["properties"]
    assert schema["label"]["enum"] == ["Speaker", "Sponsor", "Other"]
    assert (schema["confidence"]["minimum"], schema["confidence"]["maximum"]) == (0, 1)
    repair = llm.requests[1]["json"]["messages"][-1]["content"]
    assert "label: Input should be 'Speaker', 'Sponsor' or 'Other'" in repair
    assert "confidence: Input should be less than or equal to 1" in repair
    lead.refresh_from_db()
    assert lead.status != Lead.Status.NEW and lead.classified_by == "template"
    assert lead.label in ("Speaker", "Sponsor", "Other")
    assert lead.needs_review is True
    assert lead.review_reason.startswith("Classified by the offline template: Invalid answer after one repair: label")


def by_lead(answers: dict[str, dict]):
    """A model that answers each lead's qualification by the first name in its prompt."""

    def answer(body):
        prompt = " ".join(message["content"] for message in body["messages"])  # a repair round too
        return json_reply(next(a for name, a in answers.items() if f'"first_name": "{name}"' in prompt))

    return answer


def test_one_bad_lead_in_a_batch_falls_back_alone(llm, campaign):
    good = [LeadFactory(campaign=campaign, status=Lead.Status.NEW, first_name=n) for n in ("Ana", "Ben")]
    bare = LeadFactory(
        campaign=campaign, status=Lead.Status.NEW, first_name="Cy", position="", headline="", company=None
    )
    llm.default = by_lead({"Ana": GOOD, "Ben": GOOD, "Cy": {**GOOD, "insight": ""}})  # nothing to say about Cy

    leads_qualify(lead_ids=[lead.pk for lead in [*good, bare]])

    for lead in good:
        lead.refresh_from_db()
        assert (lead.classified_by, lead.review_reason, lead.insight) == ("gpt-4o-mini", "", GOOD["insight"])
    bare.refresh_from_db()
    assert bare.status != Lead.Status.NEW
    assert (bare.classified_by, bare.insight, bare.needs_review) == ("template", "No title or company on record", True)
    assert "insight: String should have at least 1 character" in bare.review_reason


def test_the_import_page_shows_the_leads_the_model_could_not_classify(llm, campaign, client, alice):
    job = ImportJob.objects.create(
        created_by=alice, campaign=campaign, file_name="people.csv", data=b"", status="done", created_count=3
    )
    leads = [
        LeadFactory(
            campaign=campaign,
            owner=alice,
            status=Lead.Status.NEW,
            first_name=name,
            source="csv",
            source_ref=f"import:{job.pk}:{n}",
        )
        for n, name in enumerate(("Ana", "Ben", "Cy"), start=2)
    ]
    llm.default = by_lead({"Ana": GOOD, "Ben": GOOD, "Cy": {**GOOD, "label": "Unicorn"}})
    leads_qualify(lead_ids=[lead.pk for lead in leads[:2]])

    waiting = login(client, alice).get(f"/leads/import/{job.pk}/")
    assert "<dt>Waiting to be qualified</dt><dd>1</dd>" in waiting.text

    leads_qualify(lead_ids=[leads[2].pk])
    page = client.get(f"/leads/import/{job.pk}/")

    assert "<dt>Waiting to be qualified</dt><dd>0</dd>" in page.text
    assert "<dt>To check: the model could not classify them</dt><dd>1</dd>" in page.text
    assert "Classified by the offline template: Invalid answer after one repair: label" in page.text
    cy = client.get(f"/leads/{leads[2].pk}/")
    assert "Invalid answer after one repair: label" in cy.text and "data-review-reason" in cy.text


def test_the_learnt_mode_lives_in_the_shared_cache(llama):
    llama.default = lambda body: json_reply(GOOD)
    run(request())
    assert client.mode_for(str(client.openai_client().base_url), "gpt-4o-mini") == "json_object"
    cache.clear()  # what a fresh deployment's cache knows
    assert client.mode_for(str(client.openai_client().base_url), "gpt-4o-mini") == "json_schema"
    assert json.loads(llama.requests[1]["json"]["messages"][-1]["content"].split("JSON schema:\n")[1])
