"""A local SMTP server (aiosmtpd) that keeps what it receives and can be told to misbehave.

    with FakeSMTP() as smtp:               # or the `smtp_server` fixture
        smtp.rcpt_reply = "550 5.1.1 No such user"
        ...send to smtp.host:smtp.port, login smtp.user / smtp.password...
        smtp.messages                      # [Received(mail_from, rcpt_tos, content)]

Switches (each None means "behave"): `mail_reply`, `rcpt_reply`, `data_reply` answer that command
with the given line; `after_data` = "hang" (never answer the end of DATA) or "close" (drop the
connection instead of answering): the client cannot tell whether the message was taken. A wrong
password gets 535. AUTH is offered without TLS: this server only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["FakeSMTP", "Received", "free_port", "smtp_server"]

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO


def free_port() -> int:
    """A port nobody listens on: aiosmtpd's start() test-connects, so port=0 cannot work."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)


USER = "sender@example.com"
PASSWORD = "smtp-pass-for-tests"


class FakeSMTP:
    def __init__(self, *, user: str = USER, password: str = PASSWORD) -> None:
        self.user, self.password = user, password
        self.host = "127.0.0.1"
        self.port = free_port()
        self.messages: list[Received] = []
        self.mail_reply: str | None = None
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.after_data: str | None = None
        self.controller = Controller(
            self,
            hostname=self.host,
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
            server_hostname="fake-smtp.test",
        )

    def __enter__(self) -> FakeSMTP:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()  # cancels a handler still hanging

    def _authenticate(self, server, session, envelope, mechanism: str, auth_data: object) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            self.user.encode(),
            self.password.encode(),
        )
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself

    async def handle_MAIL(self, server, session, envelope, address: str, mail_options: list) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options: list) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.after_data == "hang":
            await asyncio.sleep(3600)
        if self.after_data == "close":
            server.transport.close()
            return "250 OK"  # never reaches the client
        if self.data_reply:
            return self.data_reply
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTP]:
    with FakeSMTP() as server:
        yield server
