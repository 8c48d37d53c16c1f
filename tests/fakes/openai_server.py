"""A local fake of an OpenAI-compatible server, for tests that cross processes or use the real SDK.

respx does not intercept openai 3.x (it uses httpx2), so tests point the real client at this server:

    with FakeOpenAI() as fake:
        fake.queue(json_reply({"subject": "Hi"}), Error(429, headers={"retry-after": "0"}))
        client = OpenAI(api_key="test-key", base_url=fake.base_url, max_retries=0)

Only `POST /v1/chat/completions` is served (non-streaming). Each request takes the next queued reply;
when the queue is empty `fake.default(request_json)` decides, and without a default the answer is a 500.

`FakeOpenAI(llama_cpp=True)` has llama.cpp's habits as seen in issue #15: `response_format:
json_schema` gets a 500 (LLAMA_CPP_SCHEMA_ERROR), `max_completion_tokens` is ignored (only
`max_tokens` cuts an answer), one request is served at a time, and a json_object schema whose
length bounds would make a long grammar (a 2,000-character string) drops the connection, as
llama.cpp does after "number of repetitions exceeds sane defaults". Adversarial answers: `garbage()`,
`huge()`, `echo_instructions` (a default), `flaky(default, every=n)`, and Error(429, headers=...).
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fakes.http import FakeHandler, LocalFake

__all__ = [
    "LLAMA_CPP_SCHEMA_ERROR",
    "Error",
    "FakeOpenAI",
    "Hang",
    "Reply",
    "echo_instructions",
    "fake_openai",
    "fake_openai_fixture",
    "flaky",
    "garbage",
    "huge",
    "json_reply",
]
# The longest repetition llama.cpp's grammar took in our tries; maxLength 2000 failed.
LLAMA_CPP_GRAMMAR_REPEATS = 500


def _longest_bound(node: Any) -> int:
    """The largest length bound anywhere in a JSON schema (0 without one)."""
    if isinstance(node, dict):
        own = max((v for k, v in node.items() if k in ("maxLength", "maxItems") and isinstance(v, int)), default=0)
        return max([own, *(_longest_bound(v) for v in node.values())])
    if isinstance(node, list):
        return max((_longest_bound(v) for v in node), default=0)
    return 0


# What the llama.cpp OpenAI-compatible server of issue #15 answered to json_schema, with a 500.
LLAMA_CPP_SCHEMA_ERROR = (
    "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
    "  Input should be 'text' or 'json_object' [type=literal_error, input_value='json_schema', input_type=str]"
)
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Reply:
    """A normal `chat.completion` whose message content is `content`."""

    content: str
    prompt_tokens: int = 100
    completion_tokens: int = 50
    delay: float = 0.0
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Error:
    """An error response with OpenAI's body: {"error": {"message", "type", "param", "code"}}.

    The SDK ignores `retry-after: 0` and backs off ~0.4-0.5 s; `{"retry-after-ms": "1"}` retries at once.
    """

    status: int
    message: str = "The fake server was told to fail."
    code: str | None = None
    type: str = "server_error"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Hang:
    """Wait `seconds` (to trip a client timeout), then answer `then` as if nothing happened."""

    seconds: float
    then: Reply = field(default_factory=lambda: Reply("{}"))


Script = Reply | Error | Hang


def json_reply(obj: Any, **kw: Any) -> Reply:
    """A Reply whose content is `json.dumps(obj)`; `kw` goes to Reply (prompt_tokens, delay, ...)."""
    return Reply(json.dumps(obj), **kw)


def garbage(seed: int = 0, **kw: Any) -> Reply:
    """What a small model says when it loses the thread: words and braces, no JSON."""
    rng = random.Random(seed)
    words = ["Sure!", "{label:", "Speaker", "}}", "confidence", "=", "high", "```", "As an AI", "\u00e9"]
    return Reply(" ".join(rng.choice(words) for _ in range(40)), **kw)


def huge(chars: int = 200_000, **kw: Any) -> Reply:
    """An answer that runs on: `chars` characters, billed as chars / 4 tokens (the server cuts it at its limit)."""
    text = '{"label": "Speaker", "confidence": 0.9, "insight": "' + "very " * (chars // 5)
    return Reply(text[:chars], completion_tokens=chars // CHARS_PER_TOKEN, **kw)


def echo_instructions(request: dict[str, Any]) -> Reply:
    """A default that answers with the instructions it was given, as a confused model does."""
    return Reply(request["messages"][-1]["content"])


Default = Callable[[dict[str, Any]], "Script | str"]


def flaky(default: Default, every: int = 2) -> Default:
    """A default that fails every `every`-th request with a 500 and answers the others with `default`."""
    counter = itertools.count(1)

    def answer(request: dict[str, Any]) -> Script | str:
        return Error(500, "Flaky: the server hiccupped.") if next(counter) % every == 0 else default(request)

    return answer


class FakeOpenAI(LocalFake):
    """An OpenAI-compatible server on 127.0.0.1:<free port>, served from a daemon thread."""

    name = "FakeOpenAI"

    def __init__(
        self,
        api_key: str = "test-key",
        default: Callable[[dict[str, Any]], Script | str] | None = None,
        delay: float = 0.0,
        llama_cpp: bool = False,
    ) -> None:
        self.api_key = api_key
        self.default = default  # used when the queue is empty; None -> 500
        self.delay = delay  # seconds added to every request (benchmarks)
        self.llama_cpp = llama_cpp  # llama.cpp's habits: see the module's docstring
        self._one_at_a_time = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0  # the most requests it held at once (answering, or queued for its one slot)
        self._replies: deque[Script] = deque()
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._serve()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    # -- scripting and inspection ------------------------------------------------------------------------------
    def queue(self, *replies: Script) -> FakeOpenAI:
        """Append replies, consumed in order, one per authorised chat-completion request."""
        with self._lock:
            self._replies.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Queued replies not yet consumed."""
        with self._lock:
            return len(self._replies)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A copy of every request received: {"path", "headers" (lower-case names), "json"}."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> dict[str, Any] | None:
        with self._lock:
            return self._requests[-1] if self._requests else None

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._requests)

    def reset(self) -> None:
        """Forget the recorded requests and the queued replies."""
        with self._lock:
            self._requests.clear()
            self._replies.clear()

    # -- request handling (runs in the server's threads) --------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)  # stop() cuts it short

    def _handle(self, h: FakeHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = {"path": h.path, "headers": {k.lower(): v for k, v in h.headers.items()}, "json": body}
        with self._lock:
            self._requests.append(request)
            n = next(self._ids)
        request_id = f"req_fake_{n}"

        def error(status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None):
            body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
            h.send_json(status, body, {"x-request-id": request_id, **(headers or {})})

        if h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if h.command != "POST" or h.path.split("?")[0].rstrip("/") != "/v1/chat/completions":
            return error(404, f"Unknown request URL: {h.command} {h.path}.", "invalid_request_error", "unknown_url")
        if not isinstance(body, dict):
            return error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        if body.get("stream"):
            return error(400, "FakeOpenAI does not stream; call without stream=True.", "invalid_request_error", None)

        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.llama_cpp:
                with self._one_at_a_time:  # one slot: the others wait, as they do for one GPU
                    return self._answer_one(h, body, n, request_id, error)
            return self._answer_one(h, body, n, request_id, error)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer_one(self, h: FakeHandler, body: dict[str, Any], n: int, request_id: str, error: Callable) -> None:
        response_format = body.get("response_format") or {}
        if self.llama_cpp and response_format.get("type") == "json_schema":
            return error(500, LLAMA_CPP_SCHEMA_ERROR, "server_error", None)
        if self.llama_cpp and _longest_bound(response_format.get("schema")) > LLAMA_CPP_GRAMMAR_REPEATS:
            h.close_connection = True  # "failed to parse grammar": no answer at all
            return None
        self._sleep(self.delay)
        with self._lock:
            reply: Script | str | None = self._replies.popleft() if self._replies else None
        if reply is None and self.default is not None:
            try:
                reply = self.default(body)
            except Exception as exc:  # a broken default must answer, not drop the connection
                return error(500, f"FakeOpenAI default raised {exc!r}", "server_error", None)
        if reply is None:
            return error(500, "FakeOpenAI: no reply queued and no default set.", "server_error", None)
        if isinstance(reply, str):
            reply = Reply(reply)
        if isinstance(reply, Hang):
            self._sleep(reply.seconds)
            reply = reply.then
        self._sleep(reply.delay)
        if isinstance(reply, Error):
            return error(reply.status, reply.message, reply.type, reply.code, reply.headers)
        h.send_json(200, self._completion(n, body, self._cut(body, reply)), {"x-request-id": request_id})

    def _cut(self, body: dict[str, Any], reply: Reply) -> Reply:
        """The reply cut at the request's token limit; llama.cpp reads only `max_tokens`."""
        names = ("max_tokens",) if self.llama_cpp else ("max_completion_tokens", "max_tokens")
        limit = next((body[name] for name in names if isinstance(body.get(name), int)), None)
        if limit is None or reply.completion_tokens <= limit:
            return reply
        return Reply(reply.content[: limit * CHARS_PER_TOKEN], reply.prompt_tokens, limit, finish_reason="length")

    @staticmethod
    def _completion(n: int, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": None},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }


@pytest.fixture(name="fake_openai")
def fake_openai_fixture() -> Iterator[FakeOpenAI]:
    """One FakeOpenAI per test (key "test-key"), stopped afterwards.

    pytest knows it as `fake_openai` whichever name imports it. In a test module import
    `fake_openai_fixture` (noqa F401): importing `fake_openai` there makes ruff report F811 at every
    test taking it. A conftest.py may import either name, or list this module in `pytest_plugins`.
    """
    with FakeOpenAI() as fake:
        yield fake


fake_openai = fake_openai_fixture  # the same fixture under its pytest name, for conftest imports
