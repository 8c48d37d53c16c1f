"""Deciding on posts: edit, approve, reject, and settling one whose publish nobody is sure about.

Each decision is a conditional update on the status and the revision the person saw: one
winner, and the loser is told why nothing changed (as with messages, outreach/services.py).
"""

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leads.services import activity_record
from presence.guardrails import post_findings
from presence.models import Post, PostingOptIn
from salesdept import clock
from salesdept.people import display_name

Status = Post.Status


class PostDecisionError(Exception):
    """A decision that cannot be taken; the text is shown to the person who tried."""


def _refusal(post_id: int, revision: int, expected: str) -> PostDecisionError:
    current = Post.objects.select_related("decided_by").get(pk=post_id)
    if current.status != expected:
        who = display_name(current.decided_by) or "the system"
        when = timezone.localtime(current.decided_at or current.created_at).strftime("%d %b %Y %H:%M")
        return PostDecisionError(
            f"Already {current.get_status_display().lower()} ({who}, {when}). Nothing was changed."
        )
    if current.revision != revision:
        return PostDecisionError("This post changed since you opened it. Read the new text and decide again.")
    return PostDecisionError("This post cannot be decided right now.")


@transaction.atomic
def post_edit(*, post: Post, actor, revision: int, text: str, publish_at: dt.datetime, campaign_id: int | None) -> Post:
    """A person's new text, time or campaign; the guardrails run again on the new text."""
    from presence.suggestions import replier_names

    names = replier_names(clock.now())  # a person's edit may not name a prospect either
    findings = post_findings(text=text, item=post.content_item, banned=_banned(), names=names)
    changed = text != post.text
    if not Post.objects.filter(pk=post.pk, status=Status.PENDING_APPROVAL, revision=revision).update(
        text=text,
        original_text=post.original_text or (post.text if changed else ""),
        publish_at=publish_at,
        campaign_id=campaign_id,
        guardrail_findings=findings,
        revision=F("revision") + 1,
    ):
        raise _refusal(post.pk, revision, Status.PENDING_APPROVAL)
    activity_record(verb="post.edited", actor=actor, post=post.pk, text_changed=changed)
    return Post.objects.get(pk=post.pk)


@transaction.atomic
def post_approve(*, post: Post, actor, revision: int) -> Post:
    if any(f.get("blocking") for f in post.guardrail_findings):
        raise PostDecisionError("Fix what the checks found before approving: nothing was changed.")
    if not Post.objects.filter(pk=post.pk, status=Status.PENDING_APPROVAL, revision=revision).update(
        status=Status.APPROVED, decided_by=actor, decided_at=clock.now(), revision=F("revision") + 1
    ):
        raise _refusal(post.pk, revision, Status.PENDING_APPROVAL)
    activity_record(verb="post.approved", actor=actor, post=post.pk)
    return Post.objects.get(pk=post.pk)


@transaction.atomic
def post_reject(*, post: Post, actor, revision: int) -> Post:
    if not Post.objects.filter(pk=post.pk, status=Status.PENDING_APPROVAL, revision=revision).update(
        status=Status.REJECTED, decided_by=actor, decided_at=clock.now(), revision=F("revision") + 1
    ):
        raise _refusal(post.pk, revision, Status.PENDING_APPROVAL)
    activity_record(verb="post.rejected", actor=actor, post=post.pk)
    return Post.objects.get(pk=post.pk)


@transaction.atomic
def post_settle_unknown(*, post: Post, actor, published: bool, provider_post_id: str = "") -> Post:
    """A person looked at LinkedIn: it is there (published), or it is not (failed; never re-sent by itself)."""
    fields = (
        {"status": Status.PUBLISHED, "published_at": clock.now(), "provider_post_id": provider_post_id}
        if published
        else {"status": Status.FAILED, "last_error": "Checked by hand: not on LinkedIn."}
    )
    if not Post.objects.filter(pk=post.pk, status=Status.UNKNOWN).update(decided_by=actor, **fields):
        raise PostDecisionError("This post is no longer waiting for a check. Nothing was changed.")
    activity_record(verb="post.published" if published else "post.failed", actor=actor, post=post.pk, by_hand=True)
    return Post.objects.get(pk=post.pk)


def _banned() -> tuple[str, ...]:
    from outreach.voice import banned_phrases_for, team_voice

    return banned_phrases_for(None, team=team_voice())


def posting_opt_in_set(*, user, on: bool) -> PostingOptIn:
    """A rep's /me/ switch for weekly post suggestions in their own name."""
    choice, _ = PostingOptIn.objects.update_or_create(user=user, defaults={"suggest_posts": on})
    return choice
