import datetime as dt

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from competitors.models import Competitor, CompetitorPost, CompetitorSummary


def competitors_list() -> QuerySet[Competitor]:
    return Competitor.objects.annotate(post_count=Count("posts")).order_by("-is_active", "name", "pk")


def competitor_get(pk: int) -> Competitor:
    return get_object_or_404(Competitor, pk=pk)


def summaries_of_week(start: dt.date) -> list[CompetitorSummary]:
    """Each active competitor's summary of the week starting `start`, with the posts its points cite."""
    summaries = list(
        CompetitorSummary.objects.filter(week_start=start, competitor__is_active=True)
        .select_related("competitor")
        .order_by("competitor__name")
    )
    _attach_posts(summaries)
    return summaries


def latest_summaries() -> list[CompetitorSummary]:
    """Each active competitor's newest weekly summary (on a Monday, last week's is still the news)."""
    newest = CompetitorSummary.objects.filter(competitor=OuterRef("competitor")).order_by("-week_start").values("pk")
    summaries = list(
        CompetitorSummary.objects.filter(pk=Subquery(newest[:1]), competitor__is_active=True)
        .select_related("competitor")
        .order_by("competitor__name")
    )
    _attach_posts(summaries)
    return summaries


def _attach_posts(summaries: list[CompetitorSummary]) -> None:
    """summary.shown: its points, each with the posts it cites (one query for them all)."""
    pks = {pk for summary in summaries for point in summary.points for pk in point["posts"]}
    posts = CompetitorPost.objects.in_bulk(pks)
    for summary in summaries:
        summary.shown = [
            {**point, "cited": [posts[pk] for pk in point["posts"] if pk in posts]} for point in summary.points
        ]


def competitor_recent_posts(competitor: Competitor, limit: int = 20) -> list[CompetitorPost]:
    return list(competitor.posts.all()[:limit])


def competitor_summaries(competitor: Competitor, limit: int = 4) -> list[CompetitorSummary]:
    summaries = list(competitor.summaries.all()[:limit])
    _attach_posts(summaries)
    return summaries
