"""The team's model server and Unipile configuration: what a manager saved on /settings/, else the environment.

Every read of the LLM key, base URL, models and budget goes through `llm_config()`, and every read of
the Unipile DSN and key through `unipile_config()`. The saved row is kept per process and re-read
when its version in the shared cache moves, so a worker sees a manager's change without a restart
(a batch of work inside `pinned()` looks once, at its start).
"""

import contextlib
import contextvars
import dataclasses
import threading
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.views.decorators.debug import sensitive_variables

from salesdept.models import TeamConfig

VERSION_KEY = "teamconfig:version"
SINGLETON = 1


@dataclass(frozen=True)
class Saved:
    """The row's values, decrypted once per version."""

    version: int = -1
    llm_api_key: str = ""
    llm_base_url: str = ""
    llm_model: str = ""
    llm_models: dict[str, str] = field(default_factory=dict)
    llm_daily_budget_usd: Decimal | None = None
    unipile_dsn: str = ""
    unipile_api_key: str = ""

    def __repr__(self) -> str:  # never print a key, in a log line or a traceback
        return f"Saved(version={self.version})"


@dataclass(frozen=True)
class LLMConfig:
    api_key: str
    base_url: str
    model: str
    models: dict[str, str]
    daily_budget_usd: float

    def model_for(self, purpose: str) -> str:
        return self.models.get(purpose) or self.model

    def __repr__(self) -> str:
        return f"LLMConfig(base_url={self.base_url!r}, model={self.model!r}, key={'set' if self.api_key else 'none'})"


@dataclass(frozen=True)
class UnipileConfig:
    dsn: str
    api_key: str

    def __repr__(self) -> str:
        return f"UnipileConfig(dsn={self.dsn!r}, key={'set' if self.api_key else 'none'})"


@dataclass(frozen=True)
class Check:
    """The outcome of one call made to check a server with a manager's values: its answer, or its error in words."""

    ok: bool
    message: str


def redact(text: str, secret: str) -> str:
    """`text` without `secret` in it: servers sometimes quote the key they refused."""
    return text.replace(secret, "[the key]") if secret else text


_local = Saved()
_lock = threading.Lock()


def _read_row() -> Saved:
    row = TeamConfig.objects.filter(pk=SINGLETON).first()
    if row is None:
        return Saved(version=0)
    return Saved(
        version=row.version,
        llm_api_key=row.llm_api_key,
        llm_base_url=row.llm_base_url,
        llm_model=row.llm_model,
        llm_models=dict(row.llm_models or {}),
        llm_daily_budget_usd=row.llm_daily_budget_usd,
        unipile_dsn=row.unipile_dsn,
        unipile_api_key=row.unipile_api_key,
    )


_pinned: contextvars.ContextVar[Saved | None] = contextvars.ContextVar("teamconfig_pinned", default=None)


@contextlib.contextmanager
def pinned():
    """Within it, every read sees the values as they were on entry: one look at the shared version for a
    batch of work, not one per read, and the batch's calls agree. Unpinned, 3 drafts looked 10 times,
    each a cache round trip, and in a batch of 100 those reads held the interpreter's lock for about a
    quarter of the time it was held (py-spy). Threads a batch starts see the pin when they run in a
    copy of its context (gateway.run_chains).
    """
    token = _pinned.set(saved())
    try:
        yield
    finally:
        _pinned.reset(token)


def saved() -> Saved:
    """The saved values: this process's copy while the shared version matches it, else the row again."""
    global _local
    if (pin := _pinned.get()) is not None:
        return pin
    version = cache.get(VERSION_KEY)
    local = _local
    if version is not None and local.version == version:
        return local
    fresh = _read_row()
    if version is None:
        cache.add(VERSION_KEY, fresh.version, timeout=None)
    with _lock:
        _local = fresh
    return fresh


def forget(*, nothing_saved: bool = False) -> None:
    """Drop this process's copy (a save in this process), or know that nothing is saved (a fresh database)."""
    global _local
    with _lock:
        _local = Saved(version=0 if nothing_saved else -1)
    if nothing_saved:
        _publish(0)


def llm_config() -> LLMConfig:
    """The model server every call uses: the manager's values, each blank one from the environment."""
    return _llm(saved())


def llm_config_with(values: dict) -> LLMConfig:
    """What llm_config() would be with `values` (TeamConfig fields) saved: what a "Test" calls."""
    return _llm(dataclasses.replace(saved(), **values))


def _llm(row: Saved) -> LLMConfig:
    # A model saved for a purpose wins, then the manager's default model, then the environment's
    # model for that purpose: a manager who points the team at a new server expects every purpose on it.
    models = {
        purpose: row.llm_models.get(purpose) or row.llm_model or settings.LLM_MODELS.get(purpose) or settings.LLM_MODEL
        for purpose in settings.LLM_PURPOSES
    }
    budget = row.llm_daily_budget_usd
    return LLMConfig(
        api_key=row.llm_api_key or settings.OPENAI_API_KEY,
        base_url=row.llm_base_url or settings.LLM_BASE_URL,
        model=row.llm_model or settings.LLM_MODEL,
        models=models,
        daily_budget_usd=float(budget) if budget is not None else settings.LLM_DAILY_BUDGET_USD,
    )


def unipile_config() -> UnipileConfig:
    """The Unipile tenant every call uses: the manager's DSN and key, each blank one from the environment."""
    return _unipile(saved())


def unipile_config_with(values: dict) -> UnipileConfig:
    """What unipile_config() would be with `values` (TeamConfig fields) saved."""
    return _unipile(dataclasses.replace(saved(), **values))


def _unipile(row: Saved) -> UnipileConfig:
    return UnipileConfig(
        dsn=(row.unipile_dsn or settings.UNIPILE_DSN).strip(),
        api_key=row.unipile_api_key or settings.UNIPILE_API_KEY,
    )


def key_source(saved_key: str, key_in_use: str) -> str:
    """Where the key in use comes from ("saved", "environment" or "none"), never the key nor any part of it."""
    if saved_key:
        return "saved"
    return "environment" if key_in_use else "none"


def _publish(version: int) -> None:
    cache.set(VERSION_KEY, version, timeout=None)


@sensitive_variables("values")
@transaction.atomic
def team_config_save(*, actor, **values) -> TeamConfig:
    """Store the fields given (a key only when one was entered) and tell every process to re-read them."""
    row, _ = TeamConfig.objects.select_for_update().get_or_create(pk=SINGLETON)
    for name, value in values.items():
        setattr(row, name, value)
    row.version = F("version") + 1
    row.updated_by = actor
    row.save(update_fields=[*values, "version", "updated_by", "updated_at"])
    row.refresh_from_db(fields=["version"])
    forget()
    # Other processes see the new version once the row they would read is committed.
    transaction.on_commit(lambda version=row.version: _publish(version))
    return row
