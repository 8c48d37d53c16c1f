"""JSON from outside (webhooks, callbacks), read so that whatever parses can also be stored.

PostgreSQL's jsonb refuses what Python's json module accepts: NaN and Infinity, the \\u0000
character, and lone surrogates (not UTF-8). A body nested a thousand deep makes the parser raise
RecursionError. Each would be a 500 after the sender had been told nothing; here it is a ValueError
the view answers with a 400.
"""

import json
from typing import Any

MAX_DEPTH = 32  # Unipile's deepest payload is 4 levels; room to spare, far from the parser's recursion limit


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_load_strict(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed body; ValueError when it is not JSON or holds what cannot be stored."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("nested too deep") from None
    _check(payload, max_depth=max_depth)
    return payload


def _check(payload: Any, *, max_depth: int) -> None:
    pending = [(payload, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > max_depth:
            raise ValueError(f"nested deeper than {max_depth} levels")
        if isinstance(value, dict):
            pending.extend((key, depth + 1) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_text(value)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ValueError("a string holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate") from None
