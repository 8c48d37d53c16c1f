"""A webhook receiver as a team would write one: a real HTTP server that checks each delivery's signature.

It verifies like Stripe's and GitHub's client libraries do, from the raw body and the header
alone (written here from the scheme, not by calling the app's signing code): HMAC-SHA256 of
"<t>.<body>" with the secret, compared in constant time, and a `t` no older than the tolerance.
`answer_with(500, 500)` makes the next requests fail, to watch the app retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.http import FakeHandler, LocalFake

TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers.get("X-Salesdept-Event-Id", "")


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when `header` ("t=…,v1=…") signs `body` with `secret` and is recent."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(now - int(parts["t"])) <= tolerance


class WebhookReceiver(LocalFake):
    name = "WebhookReceiver"

    def __init__(self, secret: str = "") -> None:
        self.secret = secret  # set after the endpoint is added: the app makes it
        self.received: list[Received] = []
        self._answers: list[int] = []
        self._lock = threading.Lock()
        self._serve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/sales"

    def answer_with(self, *statuses: int) -> None:
        """The status codes of the next requests, in order; after them, 200."""
        with self._lock:
            self._answers.extend(statuses)

    def _handle(self, h: FakeHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        headers = {name.title(): value for name, value in h.headers.items()}
        signed = verify(self.secret, headers.get("X-Salesdept-Signature", ""), body, now=time.time())
        with self._lock:
            status = self._answers.pop(0) if self._answers else 200
            if not signed:
                status = 400  # what a receiver does with a forged or stale request
            self.received.append(Received(h.path, headers, body, signed, status))
        h.send_json(status, {"ok": status == 200})
