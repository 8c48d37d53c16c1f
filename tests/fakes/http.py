"""What every local fake HTTP server shares: a quiet threaded server on 127.0.0.1:<free port>.

A fake subclasses `LocalFake`, implements `_handle(handler)` and calls `_serve()` at the end of
its `__init__`; routes answer with `handler.send_json(...)`.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler never keeps the test process alive
    block_on_close = False  # stop() does not wait for handlers that hang on purpose
    request_queue_size = 256  # listen() backlog: 100+ requests in flight at once
    fake: LocalFake

    def handle_error(self, request, client_address) -> None:
        # A client that timed out and hung up is expected; anything else is still reported.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: stop() leaves no idle keep-alive sockets

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet test output

    def do_GET(self) -> None:
        try:
            self.server.fake._handle(self)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass  # the client gave up (timeout) and hung up; nothing to answer

    do_POST = do_DELETE = do_PATCH = do_PUT = do_GET

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


class LocalFake:
    """Lifecycle of a fake: serve from a daemon thread, stop once, usable as a context manager."""

    name = "Fake"

    def _handle(self, handler: FakeHandler) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        self._stopping = threading.Event()  # also wakes handlers sleeping on purpose
        handler = type(f"{self.name}Handler", (FakeHandler,), {"server_version": f"{self.name}/1.0"})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.fake = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits up to one poll interval (default 0.5 s)
            name=f"{self.name}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wake any handler still sleeping. Safe to call twice."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
