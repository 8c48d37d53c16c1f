"""A local IMAP server: pymap's in-memory backend in a subprocess, seeded with imaplib APPEND.

    with FakeIMAP() as imap:               # or the `imap_server` fixture
        uid = imap.append(raw_bytes)
        imap.flags(uid)                    # to check nothing was marked \\Seen

Every process starts with an empty INBOX and a new UIDVALIDITY: `restart()` is how a test gets a
mailbox whose UIDVALIDITY changed (pymap's dict backend cannot change it in place).
"""

from __future__ import annotations

import imaplib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.smtp_server import free_port

__all__ = ["FakeIMAP", "imap_server"]

PYMAP = Path(sys.executable).with_name("pymap")


class FakeIMAP:
    host = "127.0.0.1"
    user = "demouser"
    password = "demopass"

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> FakeIMAP:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 15.0) -> None:
        self.port = free_port()
        command = [str(PYMAP), "--host", self.host, "--port", str(self.port), "--no-tls", "dict"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"pymap exited: {self.process.stderr.read().decode(errors='replace')}")
            try:
                with self.connect():
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process.stderr.close()
            self.process = None

    def restart(self) -> None:
        """A new process: an empty INBOX with a new UIDVALIDITY, on a new port."""
        self.stop()
        self.start()

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=5)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes | str, *, folder: str = "INBOX") -> int:
        """Deliver a message; returns its UID."""
        data = raw.encode() if isinstance(raw, str) else raw
        with self.connect() as client:
            status, response = client.append(folder, None, imaplib.Time2Internaldate(time.time()), data)
        assert status == "OK", response
        return int(re.search(rb"APPENDUID \d+ (\d+)", response[0]).group(1))

    def clear(self) -> None:
        """Empty the INBOX (UIDVALIDITY and the UID counter stay): one process can serve a module's tests."""
        with self.connect() as client:
            client.select("INBOX")
            client.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Deleted)")
            client.expunge()

    def flags(self, uid: int) -> str:
        with self.connect() as client:
            client.select("INBOX", readonly=True)
            _, data = client.uid("FETCH", str(uid), "(FLAGS)")
        return data[0].decode()

    def uidvalidity(self) -> int:
        with self.connect() as client:
            _, data = client.status("INBOX", "(UIDVALIDITY)")
        return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))


@pytest.fixture
def imap_server() -> Iterator[FakeIMAP]:
    with FakeIMAP() as server:
        yield server
