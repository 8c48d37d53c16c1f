"""Who and what a log line is about: request id, user id, Celery task id and lead id, where known.

Each is a contextvar, set where it becomes known (salesdept.middleware for requests and users,
salesdept.celery for tasks, `lead_bound` where a lead is worked on) and copied onto every record
by `ContextFilter`, which the handlers in settings.LOGGING carry. Production writes JSON lines
(LOG_FORMAT=json, the default when DEBUG is off), development the same fields as plain text.

Secrets and message text are kept out of logs by not logging them; `ContextFilter` also masks
anything shaped like one of our secrets (a webhook secret, a bearer token, an API key), so a
slip in a future log call does not publish it.
"""

import contextvars
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

REQUEST_ID = contextvars.ContextVar("request_id", default="")
USER_ID = contextvars.ContextVar[int | None]("user_id", default=None)
TASK_ID = contextvars.ContextVar("task_id", default="")
LEAD_ID = contextvars.ContextVar[int | None]("lead_id", default=None)

FIELDS = ("request_id", "user_id", "task_id", "lead_id")
_VARS = dict(zip(FIELDS, (REQUEST_ID, USER_ID, TASK_ID, LEAD_ID), strict=True))
# What our secrets look like: webhook secrets, bearer tokens, OpenAI-style and Fernet-looking keys.
SECRET_SHAPES = re.compile(r"(whsec_|sk-|Bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s " + " ".join(f"%({f})s" for f in FIELDS)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s user=%(user_id)s task=%(task_id)s] %(message)s"


class ContextFilter(logging.Filter):
    """Adds the context fields to every record, and masks secret-shaped text in its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _VARS.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        message = record.getMessage()
        if SECRET_SHAPES.search(message):
            record.msg, record.args = SECRET_SHAPES.sub(r"\1[hidden]", message), None
        return True


@contextmanager
def bound(var: contextvars.ContextVar, value) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def lead_bound(lead_id: int | None):
    """Log lines written inside name this lead (ids only: never a name or an address)."""
    return bound(LEAD_ID, lead_id)


def logging_config(*, fmt: str, level: str) -> dict:
    """settings.LOGGING: JSON lines or readable text, with the context fields either way."""
    formatter = (
        {"()": "pythonjsonlogger.json.JsonFormatter", "format": JSON_FORMAT, "timestamp": False}
        if fmt == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "salesdept.logcontext.ContextFilter"}},
        "formatters": {"main": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},  # its DEBUG lines carry query parameters: message text
            "httpx2": {"level": "WARNING"},  # one INFO line per LLM call is noise
        },
    }
