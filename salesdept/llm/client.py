"""HTTP to an OpenAI-compatible server: structured output, one repair, normalised failures.

Pure I/O apart from the shared cache (which structured-output mode each server speaks), so
calls can run in threads side by side.
"""

import contextlib
import functools
import hashlib
import ipaddress
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2
import openai
from django.conf import settings
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from salesdept import slots
from salesdept.llm.schemas import strict_json_schema
from salesdept.teamconfig import Check, llm_config, redact

# Structured-output modes, best first. Servers differ (practices.md §1): we learn it per server
# and model. "prompt" puts the schema in the instructions and asks for JSON in words only.
logger = logging.getLogger(__name__)
MODES = ("json_schema", "json_object", "prompt")
MODE_SECONDS = 24 * 3600  # a server upgraded to json_schema is noticed the next day
RETRY_AFTER_MAX = 20.0  # seconds; a server asking for a longer wait gets the template instead
DEFAULT_BASE_URL = "https://api.openai.com/v1"


def server_url() -> str:
    return llm_config().base_url or DEFAULT_BASE_URL


def is_local(base_url: str) -> bool:
    """A server on this machine or a private network: usually one GPU answering one request at a time.

    LLM_SERVER_IS_LOCAL says so for the configured server when its address misleads."""
    if settings.LLM_SERVER_IS_LOCAL != "auto":
        return settings.LLM_SERVER_IS_LOCAL == "true"
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith((".local", ".internal", ".lan")) or "." not in host:
        return True  # a bare name like "ollama" is a container or machine on our own network
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


def concurrency() -> int:
    """Model calls in flight at once at the configured server: a remote API's for each worker process,
    a local server's for all of them together (`_in_flight`)."""
    return _concurrency_at(server_url())


def _concurrency_at(server: str) -> int:
    return max(1, settings.LLM_LOCAL_CONCURRENCY if is_local(server) else settings.LLM_CONCURRENCY)


def openai_client() -> openai.OpenAI:
    """The client for the configured server and key (a manager's change gets a new one)."""
    config = llm_config()
    with _client_lock:  # a batch's first calls start together: one of them builds the client, not each
        return _client_for(config.api_key, config.base_url)


_client_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
@sensitive_variables("api_key")
def _client_for(api_key: str, base_url: str) -> openai.OpenAI:
    """One client per process and server (built after fork); its connection pool serves every thread.

    The SDK's own retries are off: it would re-send a timed-out call and retry a 500 that only
    says the server does not speak our response_format (structured() handles both).
    """
    return openai.OpenAI(
        api_key=api_key,
        base_url=base_url or None,
        timeout=httpx2.Timeout(settings.LLM_TIMEOUT_SECONDS, connect=5.0),
        max_retries=0,
        http_client=httpx2.Client(
            limits=httpx2.Limits(max_connections=concurrency() + 10),
            timeout=httpx2.Timeout(settings.LLM_TIMEOUT_SECONDS, connect=5.0),
        ),
    )


_slots: dict[str, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def reset() -> None:
    """Forget the process's client and call slots (settings changed: tests)."""
    _client_for.cache_clear()
    with _slots_lock:
        _slots.clear()


def _slot(server: str) -> threading.BoundedSemaphore:
    """The process's calls in flight at `server`, whichever batch or thread makes them."""
    with _slots_lock:
        if server not in _slots:
            _slots[server] = threading.BoundedSemaphore(_concurrency_at(server))
        return _slots[server]


def _longest_hold() -> float:
    """The longest one `_create` can take: every try times out, with the longest wait between tries."""
    tries = settings.LLM_MAX_RETRIES + 1
    return tries * settings.LLM_TIMEOUT_SECONDS + (tries - 1) * RETRY_AFTER_MAX + 30


@contextlib.contextmanager
def _in_flight(server: str) -> Iterator[float]:
    """A place for one call at `server`; yields the seconds the call may take.

    A local server's limit (LLM_LOCAL_CONCURRENCY) holds for every process of the worker together,
    first come first served (salesdept.slots): the worker's processes used to send it one call each,
    and it queued all but one, past their timeouts. The wait for a place counts in the call's timeout,
    so a call still ends within LLM_TIMEOUT_SECONDS of asking, as the drafting tasks' time budgets
    expect; a call that finds no place in time is not sent.
    """
    timeout = settings.LLM_TIMEOUT_SECONDS
    with _slot(server):
        if not is_local(server):
            yield timeout
            return
        try:
            with slots.slot(
                f"llm:{server}", size=_concurrency_at(server), wait=max(0.0, timeout - 1), hold=_longest_hold()
            ) as waited:
                yield timeout - waited
        except slots.SlotsBusy:
            raise LLMFailure(
                "busy", f"The model server stayed busy with other calls for {timeout:g} s: not sent."
            ) from None
        except slots.SlotsUnavailable as exc:
            raise LLMFailure("unreachable", f"The queue of calls to the model server is unreachable ({exc}).") from exc


class LLMFailure(Exception):
    """The model gave no usable answer. `kind` says why, the text is safe to show an admin."""

    def __init__(self, kind: str, message: str, *, tokens_in: int = 0, tokens_out: int = 0) -> None:
        super().__init__(message)
        self.kind = kind
        self.tokens_in = tokens_in
        self.tokens_out = tokens_out


@dataclass(frozen=True)
class Completion:
    value: BaseModel
    tokens_in: int
    tokens_out: int
    request_id: str
    repaired: bool


def _mode_key(server: str, model: str) -> str:
    return "llm:mode:" + hashlib.sha256(f"{server}|{model}".encode()).hexdigest()[:32]


def mode_for(server: str, model: str) -> str:
    """The best mode not yet refused by this server and model (shared by every worker process)."""
    if settings.LLM_STRUCTURED_MODE != "auto":
        return settings.LLM_STRUCTURED_MODE
    mode = cache.get(_mode_key(server, model))
    return mode if mode in MODES else MODES[0]


class Server:
    """The configured server as a batch of calls sees it: its client and each model's mode, read once.

    Each read is a round trip to the shared cache (the team's settings, then the mode): two for every
    call of a batch before. A mode one call of the batch steps down to is where its next calls start.
    """

    def __init__(self) -> None:
        self._modes: dict[str, str] = {}
        self._reading = threading.Lock()

    @functools.cached_property  # one thread builds it, the batch's others wait for that one
    def client(self) -> openai.OpenAI:  # on the first call, so a client that cannot be built fails that call
        return openai_client()

    @functools.cached_property
    def url(self) -> str:
        return str(self.client.base_url)

    def mode(self, model: str) -> str:
        with self._reading:  # a batch's first calls start together: one of them reads it
            if model not in self._modes:
                self._modes[model] = mode_for(self.url, model)
            return self._modes[model]

    def step_down(self, model: str, mode: str) -> str | None:
        """The next mode to try after `mode` was refused, remembered for the batch and every process;
        None if none is left. A call refused late never takes the batch back above a mode it has reached."""
        if settings.LLM_STRUCTURED_MODE != "auto" or mode == MODES[-1]:
            return None
        following = MODES[MODES.index(mode) + 1]
        with self._reading:
            if MODES.index(following) > MODES.index(self._modes.get(model, MODES[0])):
                self._modes[model] = following
                cache.set(_mode_key(self.url, model), following, MODE_SECONDS)
        return following


def _request_format(mode: str, schema: type[BaseModel], messages: list[dict]) -> tuple[dict, list[dict]]:
    if mode == "json_schema":
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": strict_json_schema(schema), "strict": True},
        }
        return {"response_format": response_format}, messages
    described = [
        *messages[:-1],
        {
            "role": messages[-1]["role"],
            "content": messages[-1]["content"]
            + "\n\nReply with one JSON object, nothing else, matching this JSON schema:\n"
            + json.dumps(strict_json_schema(schema)),
        },
    ]
    # llama.cpp constrains its output to a schema given with json_object: a small model then cannot
    # answer outside it. Other servers ignore the key, or refuse it and the mode steps down.
    json_object = {"type": "json_object", "schema": _grammar_schema(strict_json_schema(schema))}
    return ({"response_format": json_object} if mode == "json_object" else {}), described


# Upper bounds a grammar spells out one optional repetition at a time: llama.cpp refuses a
# 2,000-character string as "exceeds sane defaults" and drops the connection. Pydantic still checks
# them on the answer. Lower bounds stay: they are small, and keep an insight from being empty.
_REPEAT_BOUNDS = ("maxLength", "maxItems")


def _grammar_schema(node):
    """The schema without upper length bounds, for servers that turn it into a grammar."""
    if isinstance(node, dict):
        return {key: _grammar_schema(value) for key, value in node.items() if key not in _REPEAT_BOUNDS}
    if isinstance(node, list):
        return [_grammar_schema(value) for value in node]
    return node


def server_message(exc: openai.APIStatusError) -> str:
    """What the server itself said, from its error body (OpenAI's shape, llama.cpp's, or plain text)."""
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or body.get("detail")
        if message:
            return str(message)[:500]
    try:
        return exc.response.text.strip()[:500] or exc.message
    except Exception:  # a streamed or closed response has no text to read
        return exc.message


def _refuses_format(exc: openai.APIStatusError) -> bool:
    said = f"{server_message(exc)} {exc.message}".lower()
    return "response_format" in said or "json_schema" in said or "json_object" in said


def _retryable(exc: openai.APIStatusError) -> bool:
    if exc.status_code == 429:
        return getattr(exc, "code", None) != "insufficient_quota"  # no wait makes a quota come back
    return exc.status_code in (408, 409) or exc.status_code >= 500


def _wait(exc: openai.APIStatusError | None, retry: int) -> float | None:
    """Seconds before retry number `retry`: the server's Retry-After, else backoff; None: do not wait that long."""
    headers = exc.response.headers if exc is not None else {}
    for header, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        try:
            asked = float(headers.get(header)) / divisor
        except (TypeError, ValueError):
            continue
        if asked > RETRY_AFTER_MAX:
            return None
        if asked > 0:
            return asked
    return 0.5 * 2**retry * (1 - 0.25 * random.random())


def _create(client: openai.OpenAI, timeout: float, **request) -> ChatCompletion:
    """One answer from the server, retrying what may pass (429, 5xx, a dropped connection).

    Never retried: a timeout (the server may still be working on it: a second copy would only
    queue behind the first) and a refusal of our response_format (the caller steps down instead).

    The request goes through the SDK's `post` (its way to send a body as given), not
    `chat.completions.create`, which walks the whole body against its parameter types on every
    call: 0.7 ms of CPU for a draft's request, a third of the SDK's cost per call, for a body
    that is plain JSON already. Errors, the response's type and its request id are the same.
    """
    for retry in range(settings.LLM_MAX_RETRIES + 1):
        last = retry == settings.LLM_MAX_RETRIES
        try:
            return client.post("/chat/completions", body=request, cast_to=ChatCompletion, options={"timeout": timeout})
        except openai.APITimeoutError:
            raise
        except openai.APIConnectionError:
            if last:
                raise
            time.sleep(_wait(None, retry) or 0)
        except openai.APIStatusError as exc:
            if last or not _retryable(exc) or _refuses_format(exc) or (wait := _wait(exc, retry)) is None:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises


def _parse(content: str, schema: type[BaseModel], check: Callable[[BaseModel], None] | None) -> BaseModel:
    text = content.strip()
    if text.startswith("```"):  # some local models wrap JSON in a code fence despite being told not to
        text = text.strip("`").removeprefix("json").strip()
    value = schema.model_validate_json(text)
    if check is not None:
        check(value)
    return value


def _why_invalid(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors()[:5])
    return str(exc)[:300]


def _failure(exc: openai.OpenAIError) -> tuple[str, str]:
    """(kind, message for an admin) of a failed request."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout", f"No answer within {settings.LLM_TIMEOUT_SECONDS:g} s (not re-sent)."
    if isinstance(exc, openai.APIConnectionError):
        return "unreachable", "The LLM server could not be reached."
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return "auth", "The LLM server refused the API key: check OPENAI_API_KEY or the key on Settings."
    if isinstance(exc, openai.RateLimitError):
        kind = "quota" if getattr(exc, "code", None) == "insufficient_quota" else "rate_limited"
        return kind, f"The LLM server is rate limiting us: {server_message(exc)}"
    if isinstance(exc, openai.APIStatusError):
        kind = "bad_request" if exc.status_code < 500 else "server_error"
        return kind, f"The LLM server failed ({exc.status_code}): {server_message(exc)}"
    return "server_error", f"The LLM call failed: {exc}"


def structured(
    *,
    model: str,
    messages: list[dict],
    schema: type[BaseModel],
    max_tokens: int = 800,
    check: Callable[[BaseModel], None] | None = None,
    server: Server | None = None,
) -> Completion:
    """Ask for an answer matching `schema`; one repair round on invalid output, then LLMFailure.

    Tokens of every attempt count, the failed ones too: the server was paid for them. `server`:
    a batch's calls share one (Server), else the call reads the configured one itself.
    """
    server = server or Server()
    mode = server.mode(model)
    tokens_in = tokens_out = 0
    conversation = messages
    attempt = 0
    while attempt < 2:
        extra, sent = _request_format(mode, schema, conversation)
        try:
            with _in_flight(server.url) as timeout:
                # max_tokens too: llama.cpp and older servers ignore max_completion_tokens.
                response = _create(
                    server.client,
                    timeout,
                    model=model,
                    messages=sent,
                    max_completion_tokens=max_tokens,
                    max_tokens=max_tokens,
                    **extra,
                )
        except openai.APIStatusError as exc:
            if _refuses_format(exc) and (mode := server.step_down(model, mode)):
                continue  # the same attempt again, asked for in a way this server speaks
            kind, message = _failure(exc)
            raise LLMFailure(kind, message, tokens_in=tokens_in, tokens_out=tokens_out) from exc
        except openai.OpenAIError as exc:
            kind, message = _failure(exc)
            raise LLMFailure(kind, message, tokens_in=tokens_in, tokens_out=tokens_out) from exc
        usage = response.usage
        tokens_in += getattr(usage, "prompt_tokens", 0) or 0
        tokens_out += getattr(usage, "completion_tokens", 0) or 0
        choice = response.choices[0] if response.choices else None
        content = (choice.message.content or "") if choice else ""
        try:
            value = _parse(content, schema, check)
        except (ValidationError, ValueError) as exc:
            if attempt == 1:
                raise LLMFailure(
                    "invalid",
                    f"Invalid answer after one repair: {_why_invalid(exc)}",
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                ) from exc
            conversation = [
                *messages,
                {"role": "assistant", "content": content[:4000]},
                {
                    "role": "user",
                    "content": f"That answer is not valid ({_why_invalid(exc)}). "
                    "Answer again with only the corrected JSON object.",
                },
            ]
            attempt += 1
            continue
        return Completion(value, tokens_in, tokens_out, getattr(response, "_request_id", None) or "", attempt == 1)
    raise AssertionError("unreachable")  # the loop returns or raises


def timed(call: Callable[[], Completion]) -> tuple[Completion | LLMFailure, int]:
    """Run a call, returning its completion or failure and how long it took in ms."""
    started = time.monotonic()
    try:
        outcome: Completion | LLMFailure = call()
    except LLMFailure as failure:
        outcome = failure
    except Exception as exc:  # a bug in one call must cost its item the model, not the whole batch
        logger.exception("An LLM call failed unexpectedly")
        outcome = LLMFailure("internal", f"The LLM call failed: {exc!r}"[:500])
    return outcome, int((time.monotonic() - started) * 1000)


CHECK_SECONDS = 20.0  # a manager waits on the page for this one call
CHECK_PROMPT = "Say hello to the sales team in five words or fewer."


@sensitive_variables("api_key", "probe")
def server_check(*, api_key: str, base_url: str, model: str) -> Check:
    """One real call to the server with these values (not yet saved): the model's answer or why there is none."""
    where = base_url or DEFAULT_BASE_URL
    timeout = httpx2.Timeout(CHECK_SECONDS, connect=5.0)
    probe = openai.OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=0)
    try:
        response = probe.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": CHECK_PROMPT}],
            max_completion_tokens=20,
            max_tokens=20,
        )
    except openai.APITimeoutError:
        return Check(False, f"No answer from {where} within {CHECK_SECONDS:g} s.")
    except openai.APIConnectionError:
        return Check(False, f"Could not connect to {where}.")
    except openai.APIStatusError as exc:
        said = redact(server_message(exc), api_key)
        return Check(False, f"The server at {where} answered {exc.status_code}: {said}")
    except openai.OpenAIError as exc:
        return Check(False, redact(f"The call to {where} failed: {exc}", api_key)[:500])
    finally:
        probe.close()
    choice = response.choices[0] if response.choices else None
    answer = ((choice.message.content or "") if choice else "").strip()
    return Check(True, redact(f"{model} at {where} answered: “{answer[:300] or '(nothing)'}”", api_key))
