"""Publishing approved posts exactly once, at their time, inside the account's hours and daily post cap.

The claim discipline of outreach/sending.py: a conditional update `approved → sending` commits
before the provider is called, so a second worker can never publish the same post; a post still
`sending` after the task's hard limit (its worker died) becomes `unknown` for a person. Nothing
moves a post out of `sending` or `unknown` back to `approved` on its own.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F

from leads.services import activity_record
from outreach import limits
from outreach.channels.base import ChannelError, SendOutcomeUnknown
from outreach.models import SendingAccount
from outreach.sending import STUCK_AFTER
from presence.channels import PublishResult, post_channel_for
from presence.models import Post
from salesdept import clock

log = logging.getLogger(__name__)
Status = Post.Status
# A post refused for a reason that may pass (provider down, rate limit) waits this long, then tries again.
RETRY_AFTER = dt.timedelta(minutes=30)
MAX_ATTEMPTS = 4
# The cap counts every post that may be on LinkedIn today: a `sending` or `unknown` one may be.
PUBLISHED_OR_MAYBE = (Status.SENDING, Status.PUBLISHED, Status.UNKNOWN)


def _due(now: dt.datetime):
    return Post.objects.filter(status=Status.APPROVED, publish_at__lte=now)


def posts_dispatch(*, now: dt.datetime) -> list[int]:
    """The minutely tick: one publish task per due post whose account is open."""
    from presence.tasks import post_publish_task

    due = []
    for post in _due(now).select_related("account"):
        if (
            post.account.is_active
            and post.account.health == SendingAccount.Health.OK
            and limits.in_window(post.account, now)
        ):
            post_publish_task.delay(post.pk)
            due.append(post.pk)
    return due


def posts_published_today(account: SendingAccount, now: dt.datetime) -> int:
    local_day = now.astimezone(account.tz).date()
    start = dt.datetime.combine(local_day, dt.time.min, tzinfo=account.tz)
    return Post.objects.filter(
        account=account,
        status__in=PUBLISHED_OR_MAYBE,
        sending_started_at__gte=start,
        sending_started_at__lt=start + dt.timedelta(days=1),
    ).count()


def post_publish(*, post_id: int, now: dt.datetime | None = None) -> str:
    """Claim and publish one approved post. Returns what happened ("published", "cap", "lost", ...)."""
    now = now or clock.now()
    post = Post.objects.select_related("account").get(pk=post_id)
    account = post.account
    if post.status != Status.APPROVED or post.publish_at > now:
        return "not_due"
    if not account.is_active or account.health != SendingAccount.Health.OK:
        return "paused"
    if not limits.in_window(account, now):
        return "closed"
    with transaction.atomic():
        # The account's row is the cap's lock: two workers publishing from one account count in turn.
        SendingAccount.objects.select_for_update().filter(pk=account.pk).first()
        if posts_published_today(account, now) >= settings.POSTS_DAILY_CAP:
            later = limits.next_day_window(account, now)
            if Post.objects.filter(pk=post.pk, status=Status.APPROVED).update(publish_at=later):
                activity_record(verb="post.postponed", post=post.pk, until=later.isoformat(), reason="daily cap")
            return "cap"
        if not Post.objects.filter(pk=post.pk, status=Status.APPROVED, publish_at__lte=now).update(
            status=Status.SENDING, sending_started_at=now, attempts=F("attempts") + 1
        ):
            return "lost"  # another worker claimed it, or a person changed it
        activity_record(verb="post.sending", post=post.pk, account=account.pk)
    post.attempts += 1
    try:
        result = post_channel_for(account.channel).publish(post)
    except SendOutcomeUnknown as exc:
        _mark_unknown(post, str(exc))
        return "unknown"
    except Exception as exc:  # a bug or an unexpected answer after the claim: nobody knows whether it went
        log.exception("publish of post %s raised", post.pk)
        _mark_unknown(post, f"Publishing raised {type(exc).__name__}; look at LinkedIn before publishing again.")
        return "unknown"
    return post_record_result(post=post, result=result, now=now)


@transaction.atomic
def post_record_result(*, post: Post, result: PublishResult, now: dt.datetime) -> str:
    if result.error is None:
        if Post.objects.filter(pk=post.pk, status=Status.SENDING).update(
            status=Status.PUBLISHED, published_at=now, provider_post_id=result.provider_post_id, last_error=""
        ):
            activity_record(verb="post.published", post=post.pk, account=post.account_id)
        return "published"
    detail = f"{result.error.value}: {result.detail}"
    log.warning("publish of post %s failed: %s", post.pk, detail)
    retry = result.error in (ChannelError.TRANSIENT, ChannelError.RATE_LIMITED) and post.attempts < MAX_ATTEMPTS
    if retry:
        later = (
            limits.next_day_window(post.account, now)
            if result.error == ChannelError.RATE_LIMITED
            else now + RETRY_AFTER
        )
        if Post.objects.filter(pk=post.pk, status=Status.SENDING).update(
            status=Status.APPROVED, publish_at=later, last_error=detail
        ):
            activity_record(verb="post.postponed", post=post.pk, until=later.isoformat(), reason=detail)
        return result.error.value
    if Post.objects.filter(pk=post.pk, status=Status.SENDING).update(status=Status.FAILED, last_error=detail):
        activity_record(verb="post.failed", post=post.pk, reason=detail)
    return result.error.value


def _mark_unknown(post: Post, reason: str) -> None:
    with transaction.atomic():
        if Post.objects.filter(pk=post.pk, status=Status.SENDING).update(status=Status.UNKNOWN, last_error=reason):
            activity_record(verb="post.unknown", post=post.pk, reason=reason)


def posts_mark_stuck_unknown(*, now: dt.datetime) -> int:
    """A publish still `sending` long after its task's hard limit: its worker died mid-call. A person checks."""
    count = 0
    for post in Post.objects.filter(status=Status.SENDING, sending_started_at__lt=now - STUCK_AFTER):
        _mark_unknown(post, "The publish did not finish; look at the LinkedIn page before publishing again.")
        count += 1
    return count
