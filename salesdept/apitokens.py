"""Personal API tokens: created and revoked by their owner on /me/, shown once, kept as a sha256.

A token is 32 random bytes: guessing one is hopeless, so a plain sha256 (no salt, no slow hash)
is enough, and it lets a request find its token with one indexed lookup.
"""

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from salesdept import clock
from salesdept.models import ApiToken

TOKEN_START = "sd_"  # noqa: S105 (the visible start of every token, not a secret)
PREFIX_LENGTH = 10  # "sd_" and 7 characters: enough to tell a person's tokens apart
USED_AT_GRANULARITY = dt.timedelta(minutes=1)  # one write a minute per token, not one per request


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user, name: str, read_only: bool, expires_on: dt.date | None) -> tuple[ApiToken, str]:
    """The new token and its secret text, which is never stored and never shown again."""
    raw = TOKEN_START + secrets.token_urlsafe(32)
    expires_at = None
    if expires_on is not None:  # valid through the whole day it names, on the team's calendar (TIME_ZONE)
        midnight = dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time.min)
        expires_at = midnight.replace(tzinfo=timezone.get_default_timezone())
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=raw[:PREFIX_LENGTH],
        digest=_digest(raw),
        read_only=read_only,
        expires_at=expires_at,
        created_at=clock.now(),
    )
    return token, raw


def api_token_revoke(*, user, pk: int) -> bool:
    """Revoke one of the user's own tokens; False when it is not theirs or already revoked."""
    return bool(ApiToken.objects.filter(pk=pk, user=user, revoked_at=None).update(revoked_at=clock.now()))


def api_tokens_of(user) -> QuerySet[ApiToken]:
    """The user's tokens still in force or revoked lately, newest first, for /me/."""
    return ApiToken.objects.filter(user=user, revoked_at=None).order_by("-created_at", "-pk")


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The live token `raw` names (with its user), or None: unknown, revoked, expired, or its user gone."""
    if not raw.startswith(TOKEN_START):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=_digest(raw), revoked_at=None).first()
    now = clock.now()
    if token is None or not token.user.is_active or (token.expires_at is not None and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= USED_AT_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
