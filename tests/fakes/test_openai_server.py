"""The fake OpenAI server, exercised through the real openai 3.x client (httpx2 underneath)."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from openai import OpenAI

from tests.fakes.openai_server import (  # noqa: F401
    LLAMA_CPP_SCHEMA_ERROR,
    Error,
    FakeOpenAI,
    Hang,
    Reply,
    echo_instructions,
    fake_openai_fixture,
    flaky,
    garbage,
    huge,
    json_reply,
)

MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "Draft a subject."}]


def client_for(fake: FakeOpenAI, **kw) -> OpenAI:
    return OpenAI(**{"api_key": "test-key", "base_url": fake.base_url, "max_retries": 0, "timeout": 5.0, **kw})


def ask(client: OpenAI, model: str = "gpt-test"):
    return client.chat.completions.create(model=model, messages=MESSAGES)


def test_it_answers_a_json_reply_with_usage_and_a_request_id(fake_openai):
    fake_openai.queue(json_reply({"subject": "Hello"}, prompt_tokens=12, completion_tokens=3))

    response = client_for(fake_openai).chat.completions.with_raw_response.create(model="gpt-test", messages=MESSAGES)
    completion = response.parse()

    assert json.loads(completion.choices[0].message.content) == {"subject": "Hello"}
    assert completion.model == "gpt-test"
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        12,
        3,
        15,
    )
    assert completion._request_id == response.headers["x-request-id"] == "req_fake_1"


def test_it_records_requests_with_model_and_messages(fake_openai):
    fake_openai.queue(Reply("one"), Reply("two"))
    client = client_for(fake_openai)

    assert ask(client, "model-a").choices[0].message.content == "one"
    assert ask(client, "model-b").choices[0].message.content == "two"

    assert fake_openai.count == 2
    first, last = fake_openai.requests
    assert first["path"] == "/v1/chat/completions"
    assert first["headers"]["authorization"] == "Bearer test-key"
    assert first["json"] == {"model": "model-a", "messages": MESSAGES}
    assert last == fake_openai.last_request
    assert last["json"]["model"] == "model-b"


def test_it_uses_the_default_when_the_queue_is_empty_and_500s_without_one(fake_openai):
    fake_openai.default = lambda request: Reply(f"echo {request['model']}")
    assert ask(client_for(fake_openai), "m1").choices[0].message.content == "echo m1"

    fake_openai.default = None
    with pytest.raises(openai.InternalServerError):
        ask(client_for(fake_openai))


def test_it_lets_the_sdk_retry_a_429_with_retry_after(fake_openai):
    fake_openai.queue(Error(429, "Rate limit reached.", code="rate_limit_exceeded", headers={"retry-after": "0"}))
    fake_openai.queue(json_reply({"ok": True}))

    completion = ask(client_for(fake_openai, max_retries=1))

    assert json.loads(completion.choices[0].message.content) == {"ok": True}
    assert fake_openai.count == 2
    assert [r["headers"].get("x-stainless-retry-count") for r in fake_openai.requests] == ["0", "1"]


def test_it_raises_a_429_without_retries_as_rate_limit_error_with_its_code(fake_openai):
    fake_openai.queue(
        Error(429, "You exceeded your current quota.", code="insufficient_quota", type="insufficient_quota")
    )

    with pytest.raises(openai.RateLimitError) as exc_info:
        ask(client_for(fake_openai))

    assert exc_info.value.code == "insufficient_quota"


def test_it_raises_internal_server_error_on_500(fake_openai):
    fake_openai.queue(Error(500))

    with pytest.raises(openai.InternalServerError):
        ask(client_for(fake_openai))

    assert fake_openai.count == 1  # max_retries=0: no second attempt


def test_it_raises_bad_request_naming_response_format(fake_openai):
    fake_openai.queue(Error(400, "response_format json_schema is not supported", type="invalid_request_error"))

    with pytest.raises(openai.BadRequestError, match="response_format"):
        ask(client_for(fake_openai))


def test_it_times_out_on_hang_and_keeps_serving(fake_openai):
    fake_openai.queue(Hang(2), Reply("after"))
    client = client_for(fake_openai, timeout=0.5)

    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        ask(client)
    assert time.monotonic() - started < 1.5

    assert ask(client).choices[0].message.content == "after"


def test_it_rejects_a_wrong_api_key(fake_openai):
    fake_openai.queue(Reply("never sent"))

    with pytest.raises(openai.AuthenticationError) as exc_info:
        ask(client_for(fake_openai, api_key="wrong-key"))

    assert exc_info.value.status_code == 401
    assert exc_info.value.code == "invalid_api_key"
    assert fake_openai.count == 1  # recorded, but the queued reply is kept
    assert fake_openai.pending == 1


def test_it_serves_50_concurrent_requests_in_parallel(fake_openai):
    fake_openai.delay = 1.0
    fake_openai.default = lambda request: Reply("ok")
    client = client_for(fake_openai)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda _: ask(client).choices[0].message.content, range(50)))
    elapsed = time.monotonic() - started

    assert answers == ["ok"] * 50
    assert fake_openai.count == 50
    assert elapsed < 3.0, f"50 requests of 1 s took {elapsed:.1f} s: the server is not concurrent"


def test_it_works_as_a_context_manager_and_stops():
    with FakeOpenAI(api_key="other-key") as fake:
        fake.queue(Reply("hi"))
        assert ask(client_for(fake, api_key="other-key")).choices[0].message.content == "hi"

    with pytest.raises(openai.APIConnectionError):
        ask(client_for(fake, api_key="other-key"))


# llama.cpp's habits (issue #15) ---------------------------------------------------------------------------


@pytest.fixture
def llama():
    with FakeOpenAI(llama_cpp=True) as fake:
        yield fake


SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "X", "schema": {"type": "object"}, "strict": True}}


def test_it_answers_json_schema_with_llama_cpps_500(llama):
    llama.default = lambda request: json_reply({"ok": True})

    with pytest.raises(openai.InternalServerError) as exc_info:
        client_for(llama).chat.completions.create(model="m", messages=MESSAGES, response_format=SCHEMA_FORMAT)

    assert exc_info.value.body["message"] == LLAMA_CPP_SCHEMA_ERROR
    assert "Input should be 'text' or 'json_object'" in exc_info.value.body["message"]
    json_object = client_for(llama).chat.completions.create(
        model="m", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert json.loads(json_object.choices[0].message.content) == {"ok": True}


def test_it_ignores_max_completion_tokens_like_llama_cpp_and_honours_max_tokens(llama):
    llama.default = lambda request: Reply("x" * 8000, completion_tokens=2000)
    client = client_for(llama)

    ignored = client.chat.completions.create(model="m", messages=MESSAGES, max_completion_tokens=100)
    cut = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=100)

    assert (ignored.usage.completion_tokens, len(ignored.choices[0].message.content)) == (2000, 8000)
    assert (cut.usage.completion_tokens, len(cut.choices[0].message.content), cut.choices[0].finish_reason) == (
        100,
        400,
        "length",
    )


def test_an_openai_like_fake_honours_max_completion_tokens(fake_openai):
    fake_openai.default = lambda request: Reply("x" * 8000, completion_tokens=2000)
    cut = client_for(fake_openai).chat.completions.create(model="m", messages=MESSAGES, max_completion_tokens=100)
    assert cut.usage.completion_tokens == 100


def test_it_serves_one_request_at_a_time_like_llama_cpp(llama):
    llama.delay = 0.2
    llama.default = lambda request: Reply("ok")
    client = client_for(llama)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: ask(client).choices[0].message.content, range(5)))

    assert answers == ["ok"] * 5
    assert llama.max_in_flight == 5  # it held all five at once: one answered, the others queued for its slot
    assert time.monotonic() - started >= 1.0  # five of 0.2 s, one after another


def test_it_counts_requests_in_flight_when_serving_in_parallel(fake_openai):
    fake_openai.delay = 0.3
    fake_openai.default = lambda request: Reply("ok")
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: ask(client_for(fake_openai)), range(4)))
    assert fake_openai.max_in_flight == 4


# Adversarial answers ---------------------------------------------------------------------------------------


def test_garbage_is_not_json_and_the_same_for_a_seed(fake_openai):
    fake_openai.queue(garbage(seed=3), garbage(seed=3))
    client = client_for(fake_openai)
    first, second = ask(client).choices[0].message.content, ask(client).choices[0].message.content
    assert first == second
    with pytest.raises(ValueError):
        json.loads(first)


def test_a_huge_answer_is_cut_at_the_token_limit_it_honours(fake_openai):
    fake_openai.queue(huge(200_000), huge(200_000))
    client = client_for(fake_openai)
    whole = ask(client)
    cut = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=300)
    assert (len(whole.choices[0].message.content), whole.usage.completion_tokens) == (200_000, 50_000)
    assert (len(cut.choices[0].message.content), cut.usage.completion_tokens) == (1200, 300)


def test_echo_instructions_answers_with_the_prompt(fake_openai):
    fake_openai.default = echo_instructions
    assert ask(client_for(fake_openai)).choices[0].message.content == "Draft a subject."


def test_flaky_fails_every_other_request(fake_openai):
    fake_openai.default = flaky(lambda request: Reply("ok"), every=2)
    client = client_for(fake_openai)
    assert ask(client).choices[0].message.content == "ok"
    with pytest.raises(openai.InternalServerError, match="hiccupped"):
        ask(client)
    assert ask(client).choices[0].message.content == "ok"


def test_a_429_carries_its_retry_after_header(fake_openai):
    fake_openai.queue(Error(429, "Slow down.", type="rate_limit_error", headers={"retry-after": "7"}))
    with pytest.raises(openai.RateLimitError) as exc_info:
        ask(client_for(fake_openai))
    assert exc_info.value.response.headers["retry-after"] == "7"
