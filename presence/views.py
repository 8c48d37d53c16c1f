from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from presence.forms import DecideForm, PostEditForm, PostingOptInForm, SettleForm
from presence.models import Post, PostingOptIn
from presence.selectors import post_engagements, post_get_for_user, posts_for
from presence.services import (
    PostDecisionError,
    post_approve,
    post_edit,
    post_reject,
    post_settle_unknown,
    posting_opt_in_set,
)
from salesdept.roles import rep_required

DETAIL = "presence/post_detail.html"
Status = Post.Status


def posting_context(user) -> dict:
    """The /me/ section: the rep's weekly post suggestions switch."""
    choice = PostingOptIn.objects.filter(user=user).first()
    return {"posting_form": PostingOptInForm(instance=choice)}


@require_GET
@rep_required
def queue(request: HttpRequest) -> HttpResponse:
    """Posts waiting for a decision first, then scheduled, needing a check, and published with their results."""
    posts = list(posts_for(request.user).order_by("publish_at", "pk")[:200])
    groups = [
        ("Waiting for approval", [p for p in posts if p.status == Status.PENDING_APPROVAL]),
        ("Needs checking", [p for p in posts if p.status == Status.UNKNOWN]),
        ("Scheduled", [p for p in posts if p.status in (Status.APPROVED, Status.SENDING)]),
        (
            "Published",
            sorted((p for p in posts if p.status == Status.PUBLISHED), key=lambda p: p.published_at, reverse=True),
        ),
    ]
    return render(request, "presence/queue.html", {"groups": groups})


def _edit_form(post: Post, data=None) -> PostEditForm:
    local = post.publish_at.astimezone(post.account.tz)
    initial = {
        "text": post.text,
        "publish_on": local.date(),
        "publish_time": local.time().replace(second=0, microsecond=0),
        "campaign": post.campaign_id,
        "revision": post.revision,
    }
    return PostEditForm(data, initial=initial, tz=post.account.tz)


def _detail(request: HttpRequest, post: Post, form: PostEditForm | None = None) -> HttpResponse:
    context = {
        "post": post,
        "form": form or _edit_form(post),
        "decide": DecideForm(initial={"revision": post.revision}),
        "settle": SettleForm(),
        "engagements": post_engagements(post) if post.status == Status.PUBLISHED else [],
    }
    return render(request, DETAIL, context)


@require_http_methods(["GET", "POST"])
@rep_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The post with its preview, its edit form (while it waits) and its results (once published)."""
    post = post_get_for_user(request.user, pk)
    if request.method == "GET":
        return _detail(request, post)
    form = _edit_form(post, request.POST)
    if not form.is_valid():
        return _detail(request, post, form)
    try:
        post = post_edit(
            post=post,
            actor=request.user,
            revision=form.cleaned_data["revision"],
            text=form.cleaned_data["text"],
            publish_at=form.publish_at(),
            campaign_id=form.cleaned_data["campaign"].pk if form.cleaned_data["campaign"] else None,
        )
    except PostDecisionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Post saved. The checks ran again on the new text.")
    return redirect("posts:detail", pk=pk)


def _decide(request: HttpRequest, pk: int, decide, done: str) -> HttpResponse:
    post = post_get_for_user(request.user, pk)
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "This form was out of date: nothing was changed. Look at the post again.")
        return redirect("posts:detail", pk=pk)
    try:
        decide(post=post, actor=request.user, revision=form.cleaned_data["revision"])
    except PostDecisionError as exc:
        messages.error(request, str(exc))
        return redirect("posts:detail", pk=pk)
    messages.success(request, done)
    return redirect("posts:queue")


@require_POST
@rep_required
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, post_approve, "Post approved: it is published at its time, inside working hours.")


@require_POST
@rep_required
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, post_reject, "Post rejected: it will not be published.")


@require_POST
@rep_required
def settle(request: HttpRequest, pk: int) -> HttpResponse:
    """A person looked at LinkedIn after an unsure publish: it is there, or it is not (never re-sent by itself)."""
    post = post_get_for_user(request.user, pk)
    form = SettleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say whether you found the post on LinkedIn.")
        return redirect("posts:detail", pk=pk)
    try:
        post_settle_unknown(post=post, actor=request.user, published=form.cleaned_data["published"])
    except PostDecisionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Recorded. Thank you for checking.")
    return redirect("posts:detail", pk=pk)


@require_POST
@rep_required
def opt_in(request: HttpRequest) -> HttpResponse:
    """The /me/ switch: weekly post suggestions for the rep's own LinkedIn profile."""
    form = PostingOptInForm(request.POST)
    form.is_valid()  # a checkbox: anything but a ticked box is off
    on = posting_opt_in_set(user=request.user, on=bool(form.cleaned_data.get("suggest_posts"))).suggest_posts
    messages.success(request, "Weekly post suggestions switched on." if on else "Weekly post suggestions switched off.")
    return redirect("profile")
