"""Limits per person on what reaches other people or costs money: one counter per person, action and window.

A rep once filed 15 campaign requests in a second (15 model calls, 15 emails to every manager).
Each action allows `count` uses per `seconds`, counted in the shared cache (every process and
machine sees one count), in fixed windows of the clock: at a window's edge a person may use up to
twice the count in a short span, which is fine for a guard against floods and runaway scripts.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from salesdept import clock


@dataclass(frozen=True)
class Limit:
    what: str  # "campaign requests": for the message
    count: int
    seconds: int


def limits() -> dict[str, Limit]:
    return {action: Limit(what, count, seconds) for action, (what, count, seconds) in settings.RATE_LIMITS.items()}


class RateLimited(Exception):
    """Raised as the caller's own error class (see `rate_limit_take`), with a message for the person."""


def _minutes_label(seconds: int) -> str:
    minutes = -(-seconds // 60)  # rounded up: "try again in 0 minutes" would be a lie
    if minutes % 60 == 0:
        return "an hour" if minutes == 60 else f"{minutes // 60} hours"
    return "a minute" if minutes <= 1 else f"{minutes} minutes"


def rate_limit_take(*, user, action: str, error: type[Exception] = RateLimited) -> None:
    """Count one use of `action` by `user`; raise `error` saying when to try again when over the limit."""
    limit = limits()[action]
    now = int(clock.now().timestamp())
    window = now // limit.seconds
    key = f"ratelimit:{action}:{user.pk}:{window}"
    cache.add(key, 0, timeout=limit.seconds + 60)
    try:
        used = cache.incr(key)
    except ValueError:  # evicted between add and incr: count from here
        cache.set(key, 1, timeout=limit.seconds + 60)
        used = 1
    if used > limit.count:
        wait = (window + 1) * limit.seconds - now
        refusal = error(
            f"That is more than {limit.count} {limit.what} in {_minutes_label(limit.seconds)}: "
            f"try again in {_minutes_label(wait)}."
        )
        refusal.retry_after = wait
        raise refusal
