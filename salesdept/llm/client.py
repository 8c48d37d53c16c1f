"""HTTP to an OpenAI-compatible server: structured output, one repair, normalised failures.

Pure I/O: nothing here touches the database, so calls can run in threads side by side.
"""

import functools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx2
import openai
from django.conf import settings
from pydantic import BaseModel, ValidationError

from salesdept.llm.schemas import strict_json_schema

# Structured-output modes, best first. Servers differ (practices.md §1): we negotiate per base URL.
MODES = ("json_schema", "json_object", "plain")
_modes: dict[str, str] = {}
_modes_lock = threading.Lock()


@functools.cache
def openai_client() -> openai.OpenAI:
    """One client per process (built after fork); its connection pool serves every thread."""
    return openai.OpenAI(
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.LLM_BASE_URL or None,
        timeout=httpx2.Timeout(settings.LLM_TIMEOUT_SECONDS, connect=5.0),
        max_retries=settings.LLM_MAX_RETRIES,
        http_client=httpx2.Client(
            limits=httpx2.Limits(max_connections=settings.LLM_CONCURRENCY + 10),
            timeout=httpx2.Timeout(settings.LLM_TIMEOUT_SECONDS, connect=5.0),
        ),
    )


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


def _mode_for(server: str) -> str:
    with _modes_lock:
        return _modes.get(server, MODES[0])


def _downgrade(server: str, mode: str) -> str | None:
    following = MODES[MODES.index(mode) + 1 :] if mode in MODES else ()
    if not following:
        return None
    with _modes_lock:
        _modes[server] = following[0]
    return following[0]


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
    return ({"response_format": {"type": "json_object"}} if mode == "json_object" else {}), described


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


def structured(
    *,
    model: str,
    messages: list[dict],
    schema: type[BaseModel],
    max_tokens: int = 800,
    check: Callable[[BaseModel], None] | None = None,
) -> Completion:
    """Ask for an answer matching `schema`; one repair round on invalid output, then LLMFailure."""
    client = openai_client()
    server = str(client.base_url)
    mode = _mode_for(server)
    tokens_in = tokens_out = 0
    conversation = messages
    for attempt in range(2):
        extra, sent = _request_format(mode, schema, conversation)
        try:
            response = client.chat.completions.create(
                model=model, messages=sent, max_completion_tokens=max_tokens, **extra
            )
        except openai.BadRequestError as exc:
            if "response_format" in str(exc) and (mode := _downgrade(server, mode)):
                return structured(model=model, messages=messages, schema=schema, max_tokens=max_tokens, check=check)
            raise LLMFailure("bad_request", f"The server refused the request: {exc.message}") from exc
        except openai.APITimeoutError as exc:
            raise LLMFailure("timeout", f"No answer within {settings.LLM_TIMEOUT_SECONDS:g} s.") from exc
        except openai.APIConnectionError as exc:
            raise LLMFailure("unreachable", "The LLM server could not be reached.") from exc
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise LLMFailure("auth", "The LLM server refused the API key: check OPENAI_API_KEY.") from exc
        except openai.RateLimitError as exc:
            kind = "quota" if getattr(exc, "code", None) == "insufficient_quota" else "rate_limited"
            raise LLMFailure(kind, f"The LLM server is rate limiting us: {exc.message}") from exc
        except openai.APIStatusError as exc:
            raise LLMFailure("server_error", f"The LLM server failed ({exc.status_code}).") from exc
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
    return outcome, int((time.monotonic() - started) * 1000)
