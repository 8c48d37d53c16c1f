"""Reads for the post pages: who sees which post, and a post's results."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from presence.models import Engagement, Post
from salesdept.roles import is_manager


def posts_for(user) -> QuerySet[Post]:
    """Managers see every post (the company page's too); a rep sees the posts in their own name."""
    posts = Post.objects.select_related("account", "rep", "content_item", "campaign").annotate(
        reactions=Count("engagements", filter=Q(engagements__kind=Engagement.Kind.REACTION)),
        comments=Count("engagements", filter=Q(engagements__kind=Engagement.Kind.COMMENT)),
        new_leads=Count("engagements", filter=Q(engagements__outcome="New lead")),
    )
    return posts if is_manager(user) else posts.filter(author=Post.Author.REP, rep=user)


def post_get_for_user(user, pk: int) -> Post:
    """404 for a post the user may not see: it does not exist for them."""
    post = posts_for(user).filter(pk=pk).first()
    if post is None:
        raise Http404("No such post.")
    return post


def post_engagements(post: Post) -> QuerySet[Engagement]:
    return post.engagements.select_related("lead").order_by("kind", "pk")
