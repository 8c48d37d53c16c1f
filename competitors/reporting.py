"""The competitors' week in the daily report: once a week, in the report of the week's last day."""

import datetime as dt

from competitors.models import Competitor, CompetitorSummary
from competitors.selectors import summaries_of_week
from competitors.services import competitor_summarise, week_start


def report_section(*, day: dt.date) -> list[dict]:
    """What each competitor pushed in the week ending on `day` (a Sunday), as JSON for the stored report.

    A summary written before the week ended is written again first, so the last days' posts count.
    Other days of the week: no section (an empty list).
    """
    if day.weekday() != 6:
        return []
    start = week_start(day)
    week_end = dt.datetime.combine(start + dt.timedelta(days=7), dt.time(0), tzinfo=dt.UTC)
    fresh = set(
        CompetitorSummary.objects.filter(week_start=start, updated_at__gte=week_end).values_list(
            "competitor_id", flat=True
        )
    )
    for competitor in Competitor.objects.filter(is_active=True).exclude(pk__in=fresh):
        competitor_summarise(competitor=competitor, day=day)
    return [
        {
            "name": summary.competitor.name,
            "week_start": start.isoformat(),
            "points": [
                {"kind": point["kind"], "text": point["text"], "links": [post.url for post in point["cited"]]}
                for point in summary.shown
            ],
            "flagged": len(summary.flagged),
        }
        for summary in summaries_of_week(start)
        if summary.shown
    ]
